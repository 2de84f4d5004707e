"""Letters to representatives: the journey in French, what reaches each representative, and when."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app.campaign import CampaignError, load_campaign
from app.clock import today, utcnow
from app.extensions import db
from app.mail import queue_letters
from app.models import Letter, OutboxMessage
from helpers import (
    LETTER_CAMPAIGN,
    LETTER_MESSAGE,
    LETTER_SUBJECT,
    add_organizer,
    assert_every_field_labelled,
    change_campaign,
    confirm_letter,
    count_cache_of,
    csrf_token,
    deliver,
    home_campaign,
    html_part,
    letters_to_representatives,
    link_in,
    log_in,
    make_signature,
    signature_rows,
    step_two,
    text_part,
    write_letter,
)

ROOT = Path(__file__).resolve().parent.parent
SENDER = "campagne@petition.test"
HEADER = "id,name,role,email,area,postal_prefixes\n"
SUBJECT, MESSAGE = LETTER_SUBJECT, LETTER_MESSAGE


@pytest.fixture
def letter_app(make_app):
    return make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN), MAIL_DEFAULT_SENDER=f"Campagne <{SENDER}>")


@pytest.fixture
def client(letter_app):
    client = letter_app.test_client()
    client.get("/?lang=fr")  # French from here on, as a signer who chose it
    return client


def test_step_one_asks_for_a_postal_code_with_a_get_form(client):
    page = client.get("/").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/write"[^>]*>(.*?)</form>', page, re.S)
    assert form and 'name="postal_code"' in form.group(1)
    assert "Riverside" in page and "conseil" in page  # the French campaign


def test_step_two_lists_the_representatives_ticked_and_the_letter_prefilled(client):
    page = step_two(client).get_data(as_text=True)
    assert "<fieldset" in page and "<legend>" in page
    ticked = re.findall(r'<input type="checkbox" name="targets" id="[^"]+" value="([^"]+)" checked>', page)
    assert ticked == ["mayor", "ward-1"]
    assert "Alexandra Brightwater" in page and "Daniel Okonkwo" in page and "Marcus Leclerc" not in page
    assert "Votez contre la reconnaissance faciale sur les caméras de Riverside" in page  # the French subject
    assert "Madame la Mairesse" in page
    for name in ("name", "email", "country", "updates", "csrf_token", "homepage"):
        assert f'name="{name}"' in page
    assert 'name="postal_code" value="K1A0B1"' in page or 'name="postal_code" value="K1A 0B1"' in page


def test_a_representative_without_email_is_offered_the_letter_to_copy(client):
    page = step_two(client, "K1J 1A1").get_data(as_text=True)
    assert "Priya Raman" in page
    assert 'value="ward-4"' not in page
    assert re.search(r'Priya Raman</strong>.*?<a href="#message">', page, re.S)
    assert 'value="mayor" checked' in page


def test_a_postal_code_that_finds_no_one_says_so_and_offers_the_letter(make_app, tmp_path):
    campaign = tmp_path / "letter.toml"
    targets = tmp_path / "targets.csv"
    targets.write_text(HEADER + "ward-1,Daniel Okonkwo,Councillor,w1@example.org,Ward 1,K1A\n")
    campaign.write_text(LETTER_CAMPAIGN.read_text().replace("council-targets.csv", str(targets)))
    client = make_app(CAMPAIGN_FILE=str(campaign)).test_client()
    client.get("/?lang=fr")
    response = step_two(client, "H2X 1Y4")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="targets"' not in page and 'action="/sign"' not in page
    assert "letter-copy-text" in page and "Madame la Mairesse" in page


def test_a_bad_postal_code_goes_back_to_step_one_with_its_error(client):
    response = step_two(client, "pas un code")
    assert response.status_code == 422
    assert 'action="/write"' in response.get_data(as_text=True)


def test_no_letter_before_confirmation_then_one_per_chosen_target(client, letter_app, smtp):
    assert write_letter(client).status_code == 303
    deliver(letter_app)
    assert [message["To"] for message in smtp.messages] == ["ana@example.ca"], "the confirmation only"
    assert letters_to_representatives(smtp) == []

    assert confirm_letter(client, letter_app, smtp).status_code == 303
    deliver(letter_app)
    letters = letters_to_representatives(smtp)
    assert sorted(message["To"] for message in letters) == ["mayor@example.org", "ward1@example.org"]
    for message in letters:
        assert message["Subject"] == SUBJECT
        (sender,) = message["From"].addresses
        assert (sender.display_name, sender.addr_spec) == (
            "Ana Tremblay (via Riverside Visages sans fichiers)",
            SENDER,
        )
        assert message["Reply-To"] == "ana@example.ca"
        assert message.get_content_type() == "text/plain"
        body = message.get_content().replace("\r\n", "\n")
        assert MESSAGE in body
        assert body.rstrip().endswith("Ana Tremblay\nK1A 0B1")


def test_the_confirmation_email_says_who_the_letter_goes_to(client, letter_app, smtp):
    write_letter(client, targets=["ward-1"])
    deliver(letter_app)
    confirmation = smtp.messages[-1]
    text = text_part(confirmation)
    assert "Daniel Okonkwo" in text and "ward1@example.org" in text
    assert "Alexandra Brightwater" not in text
    # It speaks of a letter, not a signature (in French, as the writer wrote): the subject, the
    # first sentence, the confirmation page's button.
    assert confirmation["Subject"].startswith("Veuillez confirmer votre lettre : ")
    assert "Votre lettre ne partira qu’une fois votre adresse courriel confirmée." in text
    page = client.get(link_in(confirmation, "/confirm/")).get_data(as_text=True)
    assert "Confirmer et envoyer ma lettre" in page and "signature" not in page.lower()


def test_an_unticked_representative_gets_nothing(client, letter_app, smtp):
    write_letter(client, targets=["ward-1"])
    confirm_letter(client, letter_app, smtp)
    deliver(letter_app)
    assert [message["To"] for message in letters_to_representatives(smtp)] == ["ward1@example.org"]


def test_the_thank_you_page_lists_who_the_letter_went_to_and_the_letter(client, letter_app, smtp):
    write_letter(client, targets=["ward-1"])
    page = client.get(confirm_letter(client, letter_app, smtp).headers["Location"]).get_data(as_text=True)
    assert "Daniel Okonkwo" in page and "Alexandra Brightwater" not in page
    assert "Vieux-Port depuis vingt ans" in page


@pytest.mark.parametrize("forged", ["ward-3", "ward-4", "mayor@example.org", "attacker@example.com"])
def test_a_forged_target_is_refused_and_nothing_is_stored_or_sent(client, letter_app, smtp, forged):
    response = write_letter(client, targets=["ward-1", forged])
    assert response.status_code == 422
    assert signature_rows(letter_app) == []
    deliver(letter_app)
    assert smtp.messages == []


def test_choosing_no_one_is_refused_with_a_message(client, letter_app):
    response = write_letter(client, targets=[])
    assert response.status_code == 422
    assert 'id="targets-error"' in response.get_data(as_text=True)
    assert signature_rows(letter_app) == []


def test_confirming_twice_sends_each_letter_once(client, letter_app, smtp):
    write_letter(client)
    deliver(letter_app)
    confirm_path = link_in(smtp.messages[-1], "/confirm/")
    token = csrf_token(client, confirm_path)
    for _press in range(2):  # the second from a page left open, or a double click
        assert client.post(confirm_path, data={"csrf_token": token}).status_code == 303
    deliver(letter_app)
    assert len(letters_to_representatives(smtp)) == 2


def test_signing_again_sends_nothing_new(client, letter_app, smtp):
    write_letter(client)
    confirm_letter(client, letter_app, smtp)
    deliver(letter_app)
    assert write_letter(client, targets=["mayor"], subject="Encore moi").status_code == 303
    deliver(letter_app)
    assert len(letters_to_representatives(smtp)) == 2
    assert smtp.messages[-1]["To"] == "ana@example.ca"  # an "already signed" note, no letter
    assert "Daniel Okonkwo" in text_part(smtp.messages[-1])


@pytest.mark.parametrize(
    "subject", ["Bonjour\r\nBcc: attacker@example.com", "Bonjour\nBcc: attacker@example.com"]
)
def test_a_subject_with_a_line_break_is_refused(client, letter_app, smtp, subject):
    response = write_letter(client, subject=subject)
    assert response.status_code == 422
    assert signature_rows(letter_app) == []


def test_a_header_injection_that_got_past_the_form_reaches_no_one_extra(letter_app, smtp):
    """The form refuses line breaks; should a row ever hold one, the letter still reaches only its target."""
    signature = make_signature(letter_app, subject="Bonjour\r\nBcc: attacker@example.com", message="Bonjour")
    with letter_app.app_context():
        db.session.execute(
            insert(Letter).values(
                signature_id=signature.id,
                target_id="ward-1",
                name="Daniel Okonkwo",
                role="Councillor",
                email="ward1@example.org",
                area="",
            )
        )
        queue_letters(signature.id)
        db.session.commit()
    deliver(letter_app)
    assert smtp.sink.recipients == [], "refused whole rather than sent to anyone"
    with letter_app.app_context():
        row = db.session.scalar(select(OutboxMessage))
        assert (row.status, row.last_error) == (
            OutboxMessage.FAILED,
            "a header of the message has a line break",
        )


def test_a_message_with_control_characters_is_refused(client, letter_app):
    assert write_letter(client, message="Bonjour\x00 le conseil").status_code == 422
    assert write_letter(client, message="x" * 5001).status_code == 422
    assert signature_rows(letter_app) == []


def test_the_test_recipient_gets_every_letter_naming_its_intended_recipient(make_app, smtp):
    app = make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN), LETTER_TEST_RECIPIENT="rehearsal@example.org")
    client = app.test_client()
    client.get("/?lang=fr")
    write_letter(client)
    confirm_letter(client, app, smtp)
    deliver(app)
    letters = letters_to_representatives(smtp)
    assert [message["To"] for message in letters] == ["rehearsal@example.org"] * 2
    assert all(recipients != ["mayor@example.org"] for recipients in smtp.sink.recipients)
    bodies = "\n".join(message.get_content() for message in letters)
    assert "mayor@example.org" in bodies and "ward1@example.org" in bodies


def test_count_letters_and_export(client, letter_app, smtp):
    write_letter(client)
    confirm_letter(client, letter_app, smtp)
    deliver(letter_app)
    count_cache_of(letter_app).forget()
    count = client.get("/api/count").get_json()
    assert (count["count"], count["letters"]) == (1, 2)
    add_organizer(letter_app)
    organizer = letter_app.test_client()
    log_in(organizer)
    header, row = csv.reader(io.StringIO(organizer.get("/admin/export.csv").get_data(as_text=True)))
    assert header[-5:] == ["confirmed_at", "subject", "message", "targets", "letters_sent"]
    assert row[-4:] == [SUBJECT, MESSAGE, "mayor ward-1", "2"]
    dashboard = organizer.get("/admin/").get_data(as_text=True)
    assert "Daniel Okonkwo" in dashboard


def test_erasing_a_writer_erases_their_letters(client, letter_app, smtp):
    write_letter(client)
    with letter_app.app_context():
        from app.signatures import erase_signature

        erase_signature(signature_rows(letter_app)[0].id, actor="test")
        assert db.session.scalar(select(func.count()).select_from(Letter)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (HEADER + "w1,A,Councillor,not-an-address,Ward 1,K1A\n", "line 2"),
        (
            HEADER + "w1,A,Councillor,,Ward 1,K1A\nw1,B,Councillor,,Ward 2,K1B\n",
            "line 3",
        ),
        (HEADER + "w1,A,Councillor,,Ward 1,k-1a\n", "line 2"),
        ("id,name,role\nw1,A,Councillor\n", "header"),
    ],
)
def test_campaign_check_names_the_targets_line(tmp_path, rows, error):
    (tmp_path / "targets.csv").write_text(rows)
    campaign = tmp_path / "letter.toml"
    campaign.write_text(LETTER_CAMPAIGN.read_text().replace("council-targets.csv", "targets.csv"))
    with pytest.raises(CampaignError, match=rf"targets_file: .*targets\.csv.*{error}"):
        load_campaign(campaign)


def test_a_letter_campaign_needs_its_letter(tmp_path):
    (tmp_path / "council-targets.csv").write_text((ROOT / "campaigns" / "council-targets.csv").read_text())
    campaign = tmp_path / "letter.toml"
    campaign.write_text(LETTER_CAMPAIGN.read_text().replace("[fr.letter]", "[fr.lettre]"))
    with pytest.raises(CampaignError, match="fr"):
        load_campaign(campaign)


def test_demo_seed_gives_a_letter_campaign_letters_per_representative(letter_app):
    from app.demo import seed_demo_signatures
    from app.kinds import kind_for

    with letter_app.test_request_context():
        seed_demo_signatures(60)
        figures = kind_for(home_campaign(letter_app)).dashboard_figures()
        sent = kind_for(home_campaign(letter_app)).count_parts()["letters"]
    mayor = next(row for row in figures if row.target_id == "mayor")
    assert mayor.sent + mayor.unconfirmed == 60 and mayor.sent > 0
    assert sent == sum(row.sent for row in figures)
    assert not any(row.public for row in signature_rows(letter_app)), "the letter form has no public box"


def test_anonymising_after_retention_keeps_the_letters_sent_counted_and_no_letter(client, letter_app, smtp):
    write_letter(client)
    confirm_letter(client, letter_app, smtp)
    deliver(letter_app)
    pending = letter_app.test_client()  # a second writer, who never confirms
    assert write_letter(pending, email="never@example.ca", targets=["mayor"]).status_code == 303
    change_campaign(letter_app, deadline=today() - dt.timedelta(days=40), retention_days=30)
    assert letter_app.test_cli_runner().invoke(args=["signatures", "anonymise"]).exit_code == 0
    rows = signature_rows(letter_app)
    assert [(row.subject, row.message, row.name, row.targets) for row in rows] == [("", "", "", "")] * 2
    count_cache_of(letter_app).forget()
    assert client.get("/api/count").get_json()["letters"] == 2
    with letter_app.app_context():
        # The letters sent stay counted by representative and day; no letter ties an anonymised
        # row to its ward (finer than the province kept), sent or not.
        assert db.session.scalars(select(Letter.signature_id)).all() == []


def test_letter_pages_label_every_field(client, letter_app, smtp):
    pages = [client.get("/"), step_two(client), step_two(client, "K1J 1A1"), write_letter(client, targets=[])]
    write_letter(client)
    pages.append(client.get(confirm_letter(client, letter_app, smtp).headers["Location"]))
    for response in pages:
        page = response.get_data(as_text=True)
        assert '<html lang="fr">' in page and '<main id="main"' in page
        assert_every_field_labelled(page)


def test_the_source_tag_is_carried_from_step_one_to_the_sign_form(client):
    step_one = client.get("/?source=newsletter").get_data(as_text=True)
    assert '<input type="hidden" name="source" value="newsletter">' in step_one
    page = client.get("/write?postal_code=K1A+0B1&source=newsletter").get_data(as_text=True)
    assert 'action="/sign?source=newsletter"' in page


def test_switching_language_on_step_two_keeps_the_postal_code(client):
    page = step_two(client).get_data(as_text=True)
    assert 'href="/write?postal_code=K1A+0B1&amp;lang=en"' in page
    english = client.get("/write?postal_code=K1A+0B1&lang=en").get_data(as_text=True)
    assert "Please vote against facial recognition" in english and "Daniel Okonkwo" in english


def test_campaign_check_reads_the_targets_file(make_app, tmp_path):
    (tmp_path / "council-targets.csv").write_text(
        HEADER + "w1,A,Councillor,,Ward 1,K1A\nw1,B,Councillor,,Ward 2,K1B\n"
    )
    campaign = tmp_path / "letter.toml"
    campaign.write_text(LETTER_CAMPAIGN.read_text())
    runner = make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN)).test_cli_runner()
    assert runner.invoke(args=["campaign", "check"]).exit_code == 0
    result = runner.invoke(args=["campaign", "check", str(campaign)])
    assert result.exit_code == 1 and re.search(r"council-targets\.csv.*line 3", result.output)


def test_what_a_writer_types_is_escaped_on_pages_and_in_the_html_email(client, letter_app, smtp):
    typed = '<b onmouseover="x()">Non</b> & "oui"'
    write_letter(client, subject=typed, message=typed)
    deliver(letter_app)
    html = html_part(smtp.messages[-1])
    assert "onmouseover" not in html, "what a writer typed stays out of the email"
    confirming = client.get(link_in(smtp.messages[-1], "/confirm/")).get_data(as_text=True)
    assert "<b onmouseover" not in confirming and "&lt;b onmouseover=" in confirming
    thanks = client.get(confirm_letter(client, letter_app, smtp).headers["Location"]).get_data(as_text=True)
    assert "<b onmouseover" not in thanks and "&lt;b onmouseover=" in thanks
    refused = write_letter(client, email="bob@example.ca", subject=typed, message=typed + "\x01")
    assert refused.status_code == 422 and "<b onmouseover" not in refused.get_data(as_text=True)


def test_writing_again_before_confirming_sends_the_letter_whose_link_is_pressed(client, letter_app, smtp):
    write_letter(client, targets=["ward-1"])
    write_letter(client, targets=["mayor"], subject="Autre chose")
    confirm_letter(client, letter_app, smtp)  # the newest email's link: the second letter's
    deliver(letter_app)
    [letter] = letters_to_representatives(smtp)
    assert (letter["To"], letter["Subject"]) == ("mayor@example.org", "Autre chose")


def test_a_letter_the_server_defers_is_retried_later_and_sent_once(client, letter_app, smtp):
    write_letter(client, targets=["ward-1"])
    confirm_letter(client, letter_app, smtp)
    smtp.sink.reply = "451 4.3.0 try again later"
    deliver(letter_app)
    assert letters_to_representatives(smtp) == []
    smtp.sink.reply = None
    deliver(letter_app)
    assert letters_to_representatives(smtp) == [], "not before its back-off"
    deliver(letter_app, now=utcnow() + dt.timedelta(minutes=5))
    deliver(letter_app, now=utcnow() + dt.timedelta(hours=2))
    [letter] = letters_to_representatives(smtp)
    assert letter["To"] == "ward1@example.org"


def test_a_petition_has_no_letter_pages_or_figures(make_app):
    petition = make_app().test_client()
    assert petition.get("/write?postal_code=K1A+0B1").status_code == 404
    assert "letters" not in petition.get("/api/count").get_json()


def test_a_writer_with_an_international_address_is_replied_to_there(client, letter_app, smtp):
    writer = "zoë@example.ca"
    assert write_letter(client, email=writer).status_code == 303
    confirm_letter(client, letter_app, smtp)
    deliver(letter_app)
    letters = letters_to_representatives(smtp, writer=writer)
    assert sorted(message["To"] for message in letters) == ["mayor@example.org", "ward1@example.org"]
    (sender,) = letters[0]["From"].addresses
    assert sender.display_name == "Ana Tremblay (via Riverside Visages sans fichiers)"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c"])
def test_a_subject_with_any_line_separator_is_refused(client, letter_app, separator):
    assert write_letter(client, subject=f"Bonjour{separator}Bcc: attacker@example.com").status_code == 422
    assert signature_rows(letter_app) == []


def test_an_encoded_word_in_the_subject_reads_as_typed(client, letter_app, smtp):
    typed = "Budget =?utf-8?q?Bonjour=0D=0ABcc=3A_attacker=40example=2Ecom?= 2027"
    assert write_letter(client, subject=typed).status_code == 303
    confirm_letter(client, letter_app, smtp)
    deliver(letter_app)
    letters = letters_to_representatives(smtp)
    assert letters and all(message["Subject"] == typed for message in letters), [
        m["Subject"] for m in letters
    ]
    assert smtp.sink.recipients.count("attacker@example.com") == 0


def test_the_partners_widget_shows_the_letters_sent(client, letter_app, smtp):
    write_letter(client)
    confirm_letter(client, letter_app, smtp)
    deliver(letter_app)
    response = client.get("/embed")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 lettres envoyées" in page and "Organisations" not in page
    assert "Écrivez à vos élus" in page and "Signez" not in page


def test_a_long_paragraph_reaches_the_representative_whole_in_lines_mail_servers_take(
    client, letter_app, smtp
):
    paragraph = " ".join(["Un long paragraphe sans retour à la ligne, comme on en écrit."] * 70)
    assert len(paragraph) > 4000
    assert write_letter(client, message=paragraph).status_code == 303
    confirm_letter(client, letter_app, smtp)
    deliver(letter_app)
    letters = letters_to_representatives(smtp)
    with letter_app.app_context():
        errors = db.session.scalars(
            select(OutboxMessage.last_error).where(OutboxMessage.letter_id.is_not(None))
        )
        assert len(letters) == 2, list(errors)
    for letter in letters:
        raw_lines = letter.get_payload().splitlines()
        assert max(len(line.encode()) for line in raw_lines) <= 998, "RFC 5322: at most 998 per line"
        assert paragraph in letter.get_content()
        assert letter.get_all("Content-Transfer-Encoding") == ["quoted-printable"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("Prime Minister <pm@pm.gc.ca>", "ni chevrons ni arobase"),
        ("Ana pm@pm.gc.ca", "ni chevrons ni arobase"),
        ("Ana" + "\u2800" * 40, "caractères invisibles"),  # braille blanks
        ("Ana\u3164\u3164\u3164\u3164", "caractères invisibles"),  # Hangul fillers
        ("Ana\u1160Tremblay", "caractères invisibles"),
        ("Ana" + "\u2003" * 30 + "Tremblay", "caractères invisibles"),  # em spaces
        ("Ana" + "\u200b\u200b\u200b" + "x", "caractères invisibles"),  # zero-width spaces
        ("Ana" + " " * 12 + "Tremblay", "caractères invisibles"),
    ],
)
def test_a_name_that_would_disguise_the_letters_sender_is_refused_in_the_writers_language(
    letter_app, smtp, name, message
):
    client = letter_app.test_client()
    client.get("/?lang=fr")
    response = write_letter(client, name=name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert signature_rows(letter_app) == []


@pytest.mark.parametrize("name", ["Ana  Tremblay", "Zoë O'Brien-Núñez", "محمد\u200cرضا", "김 민준"])
def test_names_as_people_write_them_still_sign_a_letter(letter_app, smtp, name):
    client = letter_app.test_client()
    assert write_letter(client, name=name).status_code == 303
