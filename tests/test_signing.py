"""Journeys 1 and 2: sign, get the email, confirm, be counted; signing again changes nothing."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event

from app.addresses import normalize_email
from app.extensions import db
from app.models import OutboxMessage, ResendRequest
from helpers import (
    PUBLIC_URL,
    csrf_token,
    deliver,
    html_part,
    link_in,
    outbox_rows,
    press_button,
    sign,
    signature_rows,
    text_part,
)


def test_signing_mail_confirm_moves_the_count_with_real_smtp_and_background_deliverer(make_app, smtp):
    app = make_app(MAIL_IN_WEB=True)
    client = app.test_client()
    assert client.get("/api/count").get_json()["count"] == 0

    response = sign(client, email="ana@example.ca")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/check-inbox")

    # The web process's own deliverer sends it; the test only waits for the SMTP server.
    [message] = smtp.wait_for(1)
    assert message["To"] == "ana@example.ca"
    assert "Please confirm your signature" in message["Subject"]
    confirm_path = link_in(message, "/confirm/")

    page = client.get(confirm_path)
    assert page.status_code == 200
    assert "Confirm my signature" in page.get_data(as_text=True)
    assert client.get("/api/count").get_json()["count"] == 0, "opening the link must not confirm"

    response = press_button(client, confirm_path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/thanks"
    assert client.get("/api/count").get_json()["count"] == 1
    thanks = client.get("/thanks").get_data(as_text=True)
    assert "you are counted" in thanks
    assert "bsky.app/intent/compose" in thanks


def test_check_inbox_page_is_the_same_for_new_pending_and_confirmed_addresses(client, app, smtp):
    first = client.get(sign(client, email="same@example.ca").headers["Location"]).get_data(as_text=True)
    again = client.get(sign(client, email="same@example.ca").headers["Location"]).get_data(as_text=True)
    deliver(app)
    press_button(client, link_in(smtp.messages[0], "/confirm/"))
    confirmed = client.get(sign(client, email="same@example.ca").headers["Location"]).get_data(as_text=True)

    def strip_token(page):
        import re

        return re.sub(r'value="[^"]+"', "", page)

    assert strip_token(first) == strip_token(again) == strip_token(confirmed)


def test_resigning_pending_address_in_any_case_resends_the_link_without_a_second_row(client, app, smtp):
    sign(client, email="Ana.Tremblay@Example.CA", name="Ana")
    sign(client, email="  ana.tremblay@example.ca  ", name="Someone else")
    assert deliver(app) == 2

    [row] = signature_rows(app)
    assert row.email == "ana.tremblay@example.ca"
    assert row.name == "Ana", "a re-submission must not overwrite the first signature"
    first, second = smtp.messages
    assert "Please confirm" in first["Subject"] and "Please confirm" in second["Subject"]
    # Both links confirm the same signature, once.
    press_button(client, link_in(second, "/confirm/"))
    assert client.get(link_in(first, "/confirm/")).headers["Location"] == "/thanks"
    again = client.post(link_in(first, "/confirm/"), data={"csrf_token": csrf_token(client)})
    assert again.headers["Location"] == "/thanks"
    assert client.get("/api/count").get_json()["count"] == 1


def test_resigning_confirmed_address_sends_already_signed_email(client, app, smtp):
    sign(client, email="ana@example.ca")
    deliver(app)
    press_button(client, link_in(smtp.messages[0], "/confirm/"))

    sign(client, email="ANA@example.ca")
    deliver(app)
    reminder = smtp.messages[-1]
    assert "You have already signed" in reminder["Subject"]
    assert "/confirm/" not in text_part(reminder)
    assert len(signature_rows(app)) == 1
    assert client.get("/api/count").get_json()["count"] == 1


def test_a_signature_gets_at_most_five_emails_however_often_it_is_submitted(client, app, smtp):
    for _ in range(8):
        assert sign(client, email="flood@example.ca").status_code == 303
    deliver(app)
    assert len(smtp.messages) == 5
    assert signature_rows(app)[0].emails_queued == 5


def mail_was_sent_earlier(app, by: timedelta) -> None:
    """Move every email queued so far `by` into the past, as if that much time had passed."""
    with app.app_context():
        for row in db.session.scalars(db.select(OutboxMessage)):
            row.created_at -= by
        db.session.commit()


def test_the_five_email_cap_is_per_day_so_a_flooded_signer_still_gets_a_link_the_next_day(client, app, smtp):
    sign(client, email="flood@example.ca")
    deliver(app)
    press_button(client, link_in(smtp.messages[0], "/confirm/"))
    for _ in range(8):  # someone else uses up the day's share of mail for this address
        sign(client, email="flood@example.ca")
    deliver(app)
    assert len(smtp.messages) == 5
    mail_was_sent_earlier(app, timedelta(days=1, seconds=1))  # a day passes
    client.post("/resend", data={"email": "flood@example.ca", "csrf_token": csrf_token(client)})
    deliver(app)
    assert len(smtp.messages) == 6
    assert link_in(smtp.messages[-1], "/manage/"), "the signer can manage their signature again"


def test_past_the_five_the_owner_signing_an_hour_later_still_gets_her_own_link(app, smtp):
    attacker, owner = app.test_client(), app.test_client()
    for _ in range(6):  # someone else uses up the address's five emails, and more
        assert sign(attacker, name="Not Her", email="owner@example.ca").status_code == 303
    deliver(app)
    assert len(smtp.messages) == 5
    mail_was_sent_earlier(app, timedelta(hours=1, seconds=1))  # an hour passes

    assert sign(owner, name="Olga Owner", email="owner@example.ca").status_code == 303
    assert sign(attacker, name="Not Her", email="owner@example.ca").status_code == 303
    deliver(app)
    assert len(smtp.messages) == 6, "one more within the hour, and no more"
    assert press_button(owner, link_in(smtp.messages[-1], "/confirm/")).status_code == 303
    [row] = signature_rows(app)
    assert row.confirmed_at is not None and row.name == "Olga Owner"


def test_parallel_requests_for_one_address_never_get_past_the_cap(app, smtp):
    sign(app.test_client(), email="race@example.ca")
    clients = [app.test_client() for _ in range(12)]
    tokens = [csrf_token(client) for client in clients]
    barrier = threading.Barrier(len(clients))

    def resend(index):
        barrier.wait()
        clients[index].post("/resend", data={"email": "race@example.ca", "csrf_token": tokens[index]})

    threads = [threading.Thread(target=resend, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The requests are answered by the deliverers: three of them at once, racing too.
    deliverers = [threading.Thread(target=deliver, args=(app,)) for _ in range(3)]
    for thread in deliverers:
        thread.start()
    for thread in deliverers:
        thread.join()
    assert len(outbox_rows(app)) == 5
    assert signature_rows(app)[0].emails_queued == 5


def test_signature_keeps_source_language_and_consent_with_its_wording(client, app):
    sign(client, "/?source=newsletter&lang=fr", updates="y", public="y", email="luc@example.ca")
    [row] = signature_rows(app)
    assert row.source == "newsletter"
    assert row.language == "fr"
    assert row.updates is True and row.public is True
    assert row.updates_consented_at is not None
    with app.app_context():
        from app.extensions import db
        from app.models import ConsentWording

        wording = db.session.get(ConsentWording, row.consent_version)
    assert wording.language == "fr"
    assert "Coalition" in wording.text


def test_updates_box_is_unticked_by_default_and_no_consent_is_recorded_without_it(client, app):
    page = client.get("/").get_data(as_text=True)
    assert 'id="updates" name="updates" type="checkbox" value="y">' in page
    sign(client, email="no-updates@example.ca")
    [row] = signature_rows(app)
    assert row.updates is False
    assert row.updates_consented_at is None and row.consent_version is None


def test_unsafe_source_tags_are_dropped(client, app):
    sign(client, "/?source=<script>", email="x@example.ca")
    assert signature_rows(app)[0].source == ""


def test_honeypot_submission_looks_accepted_but_stores_nothing(client, app, smtp):
    response = sign(client, homepage="http://spam.example")
    assert response.status_code == 303
    assert signature_rows(app) == []
    assert outbox_rows(app) == []


def test_invalid_form_shows_each_error_next_to_its_field_and_stores_nothing(client, app):
    response = sign(client, name="", email="not-an-address", postal_code="12345", country="CA")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="name-error"' in page and "Enter your name." in page
    assert 'id="email-error"' in page and "Enter an email address like name@example.com." in page
    assert 'id="postal_code-error"' in page and "Enter a Canadian postal code" in page
    assert 'aria-describedby="email-hint email-error"' in page
    assert 'href="#email"' in page, "the error summary links to the field"
    assert signature_rows(app) == []


def test_postal_code_is_optional_outside_canada_and_normalised_inside(client, app):
    sign(client, email="a@example.fr", country="FR", postal_code="")
    sign(client, email="b@example.ca", country="CA", postal_code=" h2x1y4 ")
    first, second = signature_rows(app)
    assert (first.country, first.postal_code) == ("FR", "")
    assert second.postal_code == "H2X 1Y4"


def test_unknown_country_code_is_refused(client, app):
    response = sign(client, country="XX")
    assert response.status_code == 422
    assert "Choose your country from the list." in response.get_data(as_text=True)


def test_what_signers_type_is_escaped_on_pages_and_in_emails(client, app, smtp):
    name = '<script>alert("x")</script> & Co'
    sign(client, name=name, email="xss@example.ca", public="y")
    deliver(app)
    [message] = smtp.messages
    for part in (html_part(message), text_part(message)):
        assert "script" not in part, "what a signer typed stays out of the email"
    confirming = client.get(link_in(message, "/confirm/")).get_data(as_text=True)
    assert "<script>alert" not in confirming
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in confirming
    press_button(client, link_in(message, "/confirm/"))
    page = client.get("/signers").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page


def test_control_characters_are_removed_from_names_and_comments(client, app):
    sign(client, name="Ana\x00 \x07Tremblay", comment="line one\r\nline\x00 two")
    [row] = signature_rows(app)
    assert row.name == "Ana Tremblay"
    assert row.comment == "line one\nline two"


def test_links_in_emails_come_from_public_url_not_the_host_header(client, app, smtp):
    sign(client, email="host@example.ca", headers=None)
    token = client.get("/").get_data(as_text=True)
    from helpers import CSRF

    csrf = CSRF.search(token).group(1)
    client.post(
        "/sign",
        data={
            "name": "Eve",
            "email": "eve@example.ca",
            "postal_code": "K1A 0B1",
            "country": "CA",
            "csrf_token": csrf,
        },
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    deliver(app)
    for message in smtp.messages:
        assert "evil.example" not in text_part(message) + html_part(message)
        assert f"{PUBLIC_URL}/confirm/" in text_part(message)


def test_sign_form_without_csrf_token_is_refused_with_a_clear_page(client, app):
    response = client.post(
        "/sign", data={"name": "Ana", "email": "ana@example.ca", "postal_code": "K1A 0B1", "country": "CA"}
    )
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert signature_rows(app) == []


def test_only_ascii_letters_of_the_local_part_are_folded(client, app):
    # Case-folding turned "straße" into "strasse": another mailbox at many providers.
    assert normalize_email("Straße@Example.DE") == "straße@example.de"
    assert normalize_email("ÉMILE@example.ca") == "Émile@example.ca"
    sign(client, email="Straße@example.de")
    sign(client, email="strasse@example.de")
    assert sorted(row.email for row in signature_rows(app)) == ["strasse@example.de", "straße@example.de"]
    assert sorted(message.kind for message in outbox_rows(app)) == ["confirmation", "confirmation"]


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("\u202eAna Tremblay\u202c", "Ana Tremblay"),  # right-to-left override
        ("Ana\u2066 Tremblay\u2069", "Ana Tremblay"),  # isolates
        ("A\u200bna\u00ad Trem\ufeffblay", "Ana Tremblay"),  # zero-width space, soft hyphen, BOM
        # ZWNJ spells Persian words (and ZWJ Indic ones and emoji): kept.
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        ),
    ],
)
def test_invisible_format_characters_are_removed_from_names(client, app, typed, stored):
    assert sign(client, name=typed).status_code == 303
    [row] = signature_rows(app)
    assert row.name == stored


@pytest.mark.parametrize(
    "name", ["\u200b\u200b", "\u202e\u202c", "\u2066\u2069", "\u3164", "\u200d", "123", "--", "\u2800"]
)
def test_a_name_without_a_letter_is_refused_next_to_the_field(client, app, name):
    response = sign(client, name=name)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="name-error"' in page and "Enter your name." in page
    assert signature_rows(app) == []


def test_a_postal_code_in_full_width_or_arabic_indic_digits_is_kept_in_ascii(app, client):
    assert sign(client, email="wide@example.ca", postal_code="ｋ１ａ　０ｂ１").status_code == 303
    assert sign(client, email="arabic@example.ca", postal_code="H٢X ١Y٤").status_code == 303
    assert sorted(row.postal_code for row in signature_rows(app)) == ["H2X 1Y4", "K1A 0B1"]


def test_resend_does_the_same_work_for_a_known_and_an_unknown_address(client, app, smtp):
    """Timing told whether an address had signed (7.3 ms unknown, 9.4 ms known): the request now
    runs the same statements either way, and the deliverer answers it afterwards."""
    sign(client, email="known@example.ca")
    deliver(app)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def posted(email: str) -> list:
        token = csrf_token(client)
        statements.clear()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.post("/resend", data={"email": email, "csrf_token": token}).status_code == 303
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return list(statements)

    known, unknown = posted("known@example.ca"), posted("nobody@example.ca")
    assert known == unknown
    deliver(app)
    assert [message["To"] for message in smtp.messages] == ["known@example.ca"] * 2
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ResendRequest)) == 0, "nothing kept"
