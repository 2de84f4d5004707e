"""The open letter: signing as an organization or an individual, moderation, the two lists,
the count and its parts, the export, the listed email and the campaign file's letter."""

import csv
import dataclasses
import datetime as dt
import io
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from app.campaign import CampaignError, load_campaign
from app.clock import today
from app.counter import add_to_count
from app.emails import LISTED
from app.extensions import db
from app.kinds.open_letter.form import INDIVIDUAL as INDIVIDUAL_TYPE
from app.kinds.open_letter.form import ORGANIZATION as ORGANIZATION_TYPE
from app.kinds.open_letter.moderation import approve_signatories
from app.models import AuditEvent, OutboxMessage, Signature, utcnow
from app.retention import anonymise_due
from app.signatures import hide_signature
from helpers import (
    INDIVIDUAL,
    OPEN_LETTER,
    ORGANIZATION,
    ORGANIZER_EMAIL,
    ago,
    assert_every_field_labelled,
    change_campaign,
    count,
    count_cache_of,
    csrf_token,
    deliver,
    forget_tally,
    home_campaign,
    last_message_to,
    link_in,
    make_signature,
    press_manage_button,
    public_pages,
    review,
    sign,
    sign_and_confirm_as,
    signature_rows,
    text_part,
)


@pytest.fixture
def client(letter_app):
    return letter_app.test_client()


def _unmoderated(make_app, tmp_path):
    path = tmp_path / "open-letter.toml"
    path.write_text(
        OPEN_LETTER.read_text().replace('kind = "open_letter"', 'kind = "open_letter"\nmoderation = false')
    )
    return make_app(CAMPAIGN_FILE=str(path))


# --- signing, moderation and the lists --------------------------------------------------------


def test_signatories_are_listed_on_every_public_page_only_once_approved(
    letter_app, client, letter_organizer, smtp
):
    organization = sign_and_confirm_as(client, letter_app, smtp, ORGANIZATION)
    individual = sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)

    rows = {row.id: row for row in signature_rows(letter_app)}
    assert rows[organization].website == "https://ligue.example/fr"
    assert (rows[organization].title, rows[organization].organization) == ("", "")
    assert (rows[individual].website, rows[individual].contact_name) == ("", "")
    assert rows[organization].contact_name == "Zoé Secrète"
    assert all(row.confirmed_at and row.approved_at is None for row in rows.values())

    pages = public_pages(client)
    assert "Ana Tremblay" not in pages and "numériques" not in pages
    assert count(client) == {**count(client), "count": 0, "organizations": 0, "individuals": 0}
    assert "Organizations (0)" in client.get("/?lang=en").get_data(as_text=True)

    assert review(letter_organizer, organization, "approve").status_code == 303
    assert review(letter_organizer, individual, "approve").status_code == 303
    forget_tally(letter_app)

    for path, organizations, individuals in (
        ("/?lang=en", "Organizations (1)", "Individuals (1)"),
        ("/?lang=fr", "Organisations (1)", "Personnes (1)"),
        ("/signers?lang=en", "Organizations (1)", "Individuals (1)"),
        ("/signers?lang=fr", "Organisations (1)", "Personnes (1)"),
    ):
        page = client.get(path).get_data(as_text=True)
        assert "Ligue des droits &lt;b&gt;numériques&lt;/b&gt;" in page, path
        assert '<a href="https://ligue.example/fr" rel="nofollow noopener ugc">' in page
        assert "Ana Tremblay" in page and "Professor of law, University of Example" in page
        assert organizations in page and individuals in page, path
    assert count(client) == {**count(client), "count": 2, "organizations": 1, "individuals": 1}


def test_contact_names_and_email_addresses_appear_on_no_public_page(
    letter_app, client, letter_organizer, smtp
):
    for fields in (ORGANIZATION, INDIVIDUAL):
        review(letter_organizer, sign_and_confirm_as(client, letter_app, smtp, fields), "approve")
    forget_tally(letter_app)
    pages = public_pages(client)
    assert "Ligue des droits" in pages
    for secret in ("Zoé Secrète", "contact@ligue.example", "ana@example.ca", "Ignored", "ignored.example"):
        assert secret not in pages


def test_the_letter_reads_as_a_letter_in_both_languages(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    for part in (
        "The Honourable Minister of Public Safety",
        "Dear Minister,",
        "<strong>suspend</strong>",
        "Respectfully yours,",
        "The Privacy Commissioner of Canada",
        "April 7, 2027",
        "Sources",
    ):
        assert part in page, part
    assert "appearing on the published letter" in page
    french = client.get("/?lang=fr").get_data(as_text=True)
    for part in ("Monsieur le Ministre,", "Veuillez agréer nos salutations distinguées.", "7 avril 2027"):
        assert part in french, part


def test_the_sign_form_asks_the_type_first_in_a_fieldset_with_a_legend(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    chooser = page.index('<fieldset class="choice')
    assert page.index("<legend>", chooser) < page.index(
        'name="signatory_type" type="radio" value="individual"'
    )
    assert (
        'value="individual" checked' in page
        or 'checked id="signatory_type-0"' in page
        or "checked" in page[chooser : page.index("</fieldset>", chooser)]
    )
    assert 'name="public"' not in page
    for name in ("title", "organization", "website", "contact_name", "postal_code"):
        assert f'name="{name}"' in page
    assert "open-letter.js" in page


def test_every_field_of_the_letters_pages_has_a_label(client, letter_organizer):
    for page in (client.get(path).get_data(as_text=True) for path in ("/", "/?lang=fr", "/signers")):
        assert '<main id="main"' in page
        assert_every_field_labelled(page)
    assert_every_field_labelled(letter_organizer.get("/admin/").get_data(as_text=True))
    refused = sign(client, **{**INDIVIDUAL, "signatory_type": "x"}).get_data(as_text=True)
    assert 'aria-describedby="signatory_type-error"' in refused


def test_an_organization_needs_the_name_of_the_person_signing_for_it(letter_app, client, smtp):
    response = sign(client, **{**ORGANIZATION, "contact_name": " "})
    assert response.status_code == 422
    assert "Enter the name of the person signing for the organization." in response.get_data(as_text=True)
    assert signature_rows(letter_app) == []


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "javascript://example.org/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.org",
        "mailto:a@example.org",
        "https://user:pw@example.org",
    ],
)
def test_a_website_that_is_not_http_or_https_is_refused(letter_app, client, website):
    response = sign(client, **{**ORGANIZATION, "website": website})
    assert response.status_code == 422
    assert "Enter the website's address, like https://example.org." in response.get_data(as_text=True)
    assert signature_rows(letter_app) == []


def test_a_website_too_long_once_completed_is_refused_next_to_the_field(letter_app, client):
    website = "example.org/" + "a" * 288  # 300 as typed, the most the field takes; https:// makes 308
    response = sign(client, **{**ORGANIZATION, "website": website})
    assert response.status_code == 422
    assert "That address is too long." in response.get_data(as_text=True)
    assert signature_rows(letter_app) == []


def test_an_individual_may_sign_without_a_postal_code_and_the_other_types_fields_are_ignored(
    letter_app, client, smtp
):
    response = sign(
        client, **{**INDIVIDUAL, "postal_code": "", "website": "javascript:alert(1)", "title": ""}
    )
    assert response.status_code == 303
    [row] = signature_rows(letter_app)
    assert (row.signatory_type, row.postal_code, row.website, row.contact_name) == ("individual", "", "", "")
    assert row.public is True


def test_an_unknown_signatory_type_is_refused(letter_app, client):
    response = sign(client, **{**INDIVIDUAL, "signatory_type": "government"})
    assert response.status_code == 422
    assert signature_rows(letter_app) == []


# --- moderation ----------------------------------------------------------------------------


def test_approving_needs_a_logged_in_organizer_and_a_csrf_token(letter_app, client, letter_organizer, smtp):
    signature_id = sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    anonymous = letter_app.test_client()
    response = anonymous.post(
        f"/admin/signatures/{signature_id}/approve", data={"csrf_token": csrf_token(anonymous)}
    )
    assert response.status_code in (302, 401) and "/admin/login" in response.headers.get(
        "Location", "/admin/login"
    )
    assert letter_organizer.post(f"/admin/signatures/{signature_id}/approve").status_code == 400
    assert letter_organizer.post(f"/admin/signatures/{signature_id}/reject").status_code == 400
    assert letter_organizer.post("/admin/signatures/approve", data={"ids": [signature_id]}).status_code == 400
    [row] = signature_rows(letter_app)
    assert row.approved_at is None
    with letter_app.app_context():
        assert db.session.scalars(select(AuditEvent.action)).all() == []


def test_approval_mails_the_signatory_once_with_a_manage_link_that_withdraws_the_name(
    letter_app, client, letter_organizer, smtp
):
    signature_id = sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    before = len(smtp.messages)
    review(letter_organizer, signature_id, "approve")
    deliver(letter_app)
    [listed] = smtp.messages[before:]
    assert "Your name is on the open letter" in listed["Subject"]
    assert "Your name is now on the open letter" in text_part(listed)
    manage = link_in(listed, "/manage/")
    forget_tally(letter_app)
    assert count(client)["individuals"] == 1

    page = client.get(manage).get_data(as_text=True)
    assert "Your name is on the letter." in page
    response = press_manage_button(client, manage, "hide")
    assert response.status_code == 303
    forget_tally(letter_app)
    assert count(client) == {**count(client), "count": 0, "individuals": 0}
    assert "Ana Tremblay" not in public_pages(client)
    # public_pages visited the French pages too, which the session remembers: ask for English.
    done = client.get(response.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "Done: your name is no longer on the letter." in done
    assert review(letter_organizer, signature_id, "approve").status_code == 409, "a withdrawn name stays off"


def test_erasing_through_the_manage_link_lowers_the_count(letter_app, client, letter_organizer, smtp):
    kept = sign_and_confirm_as(client, letter_app, smtp, ORGANIZATION)
    leaving = sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    review(letter_organizer, kept, "approve")
    review(letter_organizer, leaving, "approve")
    deliver(letter_app)
    manage = link_in(last_message_to(smtp, INDIVIDUAL["email"]), "/manage/")
    assert press_manage_button(client, manage, "erase").status_code == 200
    forget_tally(letter_app)
    assert count(client) == {**count(client), "count": 1, "organizations": 1, "individuals": 0}
    assert [row.id for row in signature_rows(letter_app)] == [kept]


def test_rejecting_erases_the_signature_and_the_audit_log_keeps_no_personal_data(
    letter_app, client, letter_organizer, smtp
):
    rejected = sign_and_confirm_as(client, letter_app, smtp, ORGANIZATION)
    listed = sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    assert review(letter_organizer, listed, "approve").status_code == 303
    assert review(letter_organizer, rejected, "reject").status_code == 303
    assert [row.id for row in signature_rows(letter_app)] == [listed]
    forget_tally(letter_app)
    assert count(client) == {**count(client), "count": 1, "organizations": 0, "individuals": 1}

    assert review(letter_organizer, listed, "reject").status_code == 303, (
        "a listed signatory can be taken off too"
    )
    forget_tally(letter_app)
    assert count(client) == {**count(client), "count": 0, "organizations": 0, "individuals": 0}
    with letter_app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [event.action for event in events] == [
            "approve signatory",
            "reject signatory",
            "reject signatory",
        ]
        logged = " ".join(f"{event.actor} {event.details}" for event in events)
    for personal in ("Ligue", "Zoé", "contact@ligue.example", "Ana", "ana@example.ca"):
        assert personal not in logged
    assert ORGANIZER_EMAIL in logged


def test_unknown_unconfirmed_and_already_approved_signatories_are_answered_plainly(
    letter_app, client, letter_organizer, smtp
):
    assert review(letter_organizer, 999_999, "approve").status_code == 404
    assert review(letter_organizer, 999_999, "reject").status_code == 404
    sign(client, **INDIVIDUAL)
    [pending] = signature_rows(letter_app)
    response = review(letter_organizer, pending.id, "approve")
    assert response.status_code == 409
    assert "not confirmed yet" in response.get_data(as_text=True)
    with letter_app.app_context():
        assert db.session.scalars(select(AuditEvent)).all() == []
    confirmed = sign_and_confirm_as(client, letter_app, smtp, ORGANIZATION)
    assert review(letter_organizer, confirmed, "approve").status_code == 303
    assert review(letter_organizer, confirmed, "approve").status_code == 409
    forget_tally(letter_app)
    assert count(client)["count"] == 1, "approving twice counts once"


def test_finding_a_signatory_says_whether_they_are_on_the_letter_or_waiting_for_approval(
    letter_app, client, letter_organizer, smtp
):
    signature_id = sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    find = f"/admin/signers?email={INDIVIDUAL['email']}&lang=en"
    found = letter_organizer.get(find).get_data(as_text=True)
    assert "Confirmed, waiting for an organizer's approval" in found.replace("&#39;", "'")
    assert "Counted" not in found
    review(letter_organizer, signature_id, "approve")
    assert "Counted" in letter_organizer.get(find).get_data(as_text=True)
    letter_organizer.post(
        f"/admin/signers/{signature_id}/hide", data={"csrf_token": csrf_token(letter_organizer, find)}
    )
    found = letter_organizer.get(find).get_data(as_text=True)
    assert "Confirmed, not counted: the name was taken off the list" in found and "Counted" not in found


def test_ids_beyond_any_signature_are_answered_plainly_not_with_a_server_error(
    letter_app, client, letter_organizer, smtp
):
    signature_id = sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    for huge in ("2147483648", "99999999999999999999999"):
        for verdict in ("approve", "reject"):
            assert review(letter_organizer, huge, verdict).status_code == 404
        response = letter_organizer.post(
            "/admin/signatures/approve",
            data={"ids": [str(signature_id), huge], "csrf_token": csrf_token(letter_organizer, "/admin/")},
        )
        assert response.status_code == 400
        assert "No signatory was chosen" in response.get_data(as_text=True)
        for cursor in ("org_after", "ind_after"):
            assert client.get(f"/signers?{cursor}={huge}").status_code == 404
    [row] = signature_rows(letter_app)
    assert row.approved_at is None


def test_the_dashboard_queues_confirmed_signatories_and_approves_a_page_at_once(
    letter_app, client, letter_organizer, smtp
):
    first = sign_and_confirm_as(client, letter_app, smtp, ORGANIZATION)
    second = sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    sign(client, **{**INDIVIDUAL, "name": "Not Confirmed", "email": "pending@example.ca"})
    dashboard = letter_organizer.get("/admin/").get_data(as_text=True)
    assert "Signatories waiting for approval" in dashboard
    assert "2 signatories are waiting." in dashboard
    with letter_app.app_context():
        db.session.execute(
            update(Signature)
            .where(Signature.id == first)
            .values(confirmed_at=utcnow() - dt.timedelta(days=3))
        )
        db.session.commit()
    assert "The oldest has waited 3 days, since" in letter_organizer.get("/admin/").get_data(as_text=True)
    assert "Zoé Secrète" in dashboard and "Ligue des droits &lt;b&gt;" in dashboard
    assert "Not Confirmed" not in dashboard.split('id="moderation-title"')[1].split("</section>")[0]

    response = letter_organizer.post(
        "/admin/signatures/approve",
        data={"ids": [str(first), str(second)], "csrf_token": csrf_token(letter_organizer, "/admin/")},
    )
    assert response.status_code == 303
    forget_tally(letter_app)
    assert count(client) == {**count(client), "count": 2, "organizations": 1, "individuals": 1}
    dashboard = letter_organizer.get("/admin/").get_data(as_text=True)
    assert "No signatory is waiting." in dashboard
    with letter_app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "approve signatory")).all()
        assert event.rows == 2
    assert (
        letter_organizer.post(
            "/admin/signatures/approve",
            data={"ids": ["x"], "csrf_token": csrf_token(letter_organizer, "/admin/")},
        ).status_code
        == 400
    )


# The attacker signs for a known organization from free mail, with a look-alike website or name.
POSING_AS_AMNESTY = {
    **ORGANIZATION,
    "name": "Amnesty International Canada",
    "email": "amnesty.canada@gmail.com",
    "website": "https://\u0430mnesty.ca",  # a Cyrillic а
    "contact_name": "Alex Martin",
}
LOOK_ALIKE_NAME = {
    **ORGANIZATION,
    "name": "Amn\u0435sty International",  # a Cyrillic е
    "email": "secretariat@amnesty-intl.example",
    "website": "https://amnesty-intl.example",
    "contact_name": "Sam Roy",
}
ELSEWHERE = {
    **ORGANIZATION,
    "name": "Ligue des droits",
    "email": "ligue@other.example",
    "website": "ligue.example",
}
AFFILIATED_FROM_FREE_MAIL = {**INDIVIDUAL, "name": "Chris Lee", "email": "chris.lee@hotmail.fr"}
AMNESTY = {
    **ORGANIZATION,
    "name": "Amnesty International Canada",
    "email": "info@amnesty.ca",
    "website": "amnesty.ca",
    "contact_name": "Ketty Nivyabandi",
}
FRENCH_PERSON = {
    **INDIVIDUAL,
    "name": "Zoé Lefrançois-Œuvray",
    "email": "zoe.lefrancois@gmail.com",
    "title": "",
    "organization": "",
}


def _queue(organizer) -> str:
    return (
        organizer.get("/admin/")
        .get_data(as_text=True)
        .split('id="moderation-title"')[1]
        .split("</section>")[0]
    )


def _card(queue: str, signature_id: int) -> str:
    """The queue's card of one signatory: its flags, its domain, its buttons."""
    return queue.split(f'<li id="queued-{signature_id}"')[1].split('<li id="queued-')[0]


def test_rows_posing_as_an_organization_are_flagged_shown_with_their_domain_and_left_out_of_approve_all(
    letter_app, client, letter_organizer, smtp
):
    posing = [POSING_AS_AMNESTY, LOOK_ALIKE_NAME, ELSEWHERE, AFFILIATED_FROM_FREE_MAIL]
    ids = {
        fields["email"]: sign_and_confirm_as(client, letter_app, smtp, fields)
        for fields in [*posing, AMNESTY]
    }
    ids[FRENCH_PERSON["email"]] = sign_and_confirm_as(client, letter_app, smtp, FRENCH_PERSON)
    queue = _queue(letter_organizer)

    attacker = _card(queue, ids[POSING_AS_AMNESTY["email"]])
    assert attacker.startswith(' class="flagged"') and "gmail.com</dd>" in attacker
    assert "https://xn--mnesty-2nf.ca/" in attacker and "\u0430mnesty" not in queue
    assert "Signed from a free or personal email address (gmail.com)." in attacker
    assert "The website&#39;s address mixes writing systems" in attacker
    look_alike = _card(queue, ids[LOOK_ALIKE_NAME["email"]])
    assert "The name mixes writing systems or uses look-alike letters." in look_alike
    assert "amnesty-intl.example</dd>" in look_alike
    elsewhere = _card(queue, ids[ELSEWHERE["email"]])
    assert (
        "The email address (at other.example) is not at the website&#39;s domain (ligue.example)."
        in elsewhere
    )
    assert "(hotmail.fr)" in _card(queue, ids[AFFILIATED_FROM_FREE_MAIL["email"]])
    for clean in (FRENCH_PERSON, AMNESTY):
        card = _card(queue, ids[clean["email"]])
        assert f"{clean['email'].split('@')[1]}</dd>" in card
        assert not card.startswith(' class="flagged"') and "Check before approving" not in card
    assert "4 flagged signatories are left out of the approval of the page" in queue
    assert "Approve all 2 unflagged signatories shown" in queue

    shown = re.findall(r'name="ids" value="(\d+)"', queue)  # the page's form, as a browser sends it
    assert sorted(map(int, shown)) == sorted(ids.values())
    response = letter_organizer.post(
        "/admin/signatures/approve",
        data={"ids": shown, "csrf_token": csrf_token(letter_organizer, "/admin/")},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 signatories were approved. 4 flagged signatories were skipped" in page
    approved = {row.email for row in signature_rows(letter_app) if row.approved_at is not None}
    assert approved == {AMNESTY["email"], FRENCH_PERSON["email"]}
    assert "Approve all" not in _queue(letter_organizer), "only flagged rows are left"
    assert review(letter_organizer, ids[ELSEWHERE["email"]], "approve").status_code == 303, (
        "one by one still works"
    )

    french = letter_organizer.post(
        "/admin/signatures/approve?lang=fr",
        data={"ids": shown, "csrf_token": csrf_token(letter_organizer, "/admin/?lang=fr")},
    ).get_data(as_text=True)
    assert "3\u00a0signataires signalés ont été laissés de côté" in french


def test_approving_a_clean_page_still_approves_it_all_and_returns_to_the_dashboard(
    letter_app, client, letter_organizer, smtp
):
    signature_id = sign_and_confirm_as(client, letter_app, smtp, AMNESTY)
    queue = _queue(letter_organizer)
    assert "Check before approving" not in queue and "amnesty.ca</dd>" in queue
    response = letter_organizer.post(
        "/admin/signatures/approve",
        data={"ids": [str(signature_id)], "csrf_token": csrf_token(letter_organizer, "/admin/")},
    )
    assert response.status_code == 303
    assert [row.approved_at is not None for row in signature_rows(letter_app)] == [True]


def test_without_moderation_a_signatory_is_listed_at_confirmation(make_app, tmp_path, smtp):
    app = _unmoderated(make_app, tmp_path)
    client = app.test_client()
    signature_id = sign_and_confirm_as(client, app, smtp, ORGANIZATION)
    assert "Your name is now on the letter." in client.get("/thanks").get_data(as_text=True)
    assert "Your name is on the open letter" in smtp.messages[-1]["Subject"]
    forget_tally(app)
    assert count(client) == {**count(client), "count": 1, "organizations": 1, "individuals": 0}
    assert "Ligue des droits" in client.get("/signers?lang=en").get_data(as_text=True)
    assert [row.approved_at is not None for row in signature_rows(app)] == [True]
    assert signature_id


# --- /signers, the export, the campaign file ---------------------------------------------------


def test_signers_pages_each_list_with_a_cursor(letter_app, client):
    for number in range(60):
        make_signature(
            letter_app, number, public=True, approved_at=ago(minutes=50), signatory_type="individual"
        )
    make_signature(
        letter_app,
        100,
        name="Only Org",
        public=True,
        approved_at=ago(minutes=50),
        signatory_type="organization",
    )
    make_signature(letter_app, 101, name="Pending Person", public=True)
    first = client.get("/signers?lang=en").get_data(as_text=True)
    assert first.count('<span class="name">') == 50
    assert "Only Org" in first and "Pending Person" not in first
    assert "Individuals (60)" in first
    after = max(row.id for row in signature_rows(letter_app) if row.name == "Signer 49")
    assert f"ind_after={after}" in first.replace("&amp;", "&")
    second = client.get(f"/signers?ind_after={after}").get_data(as_text=True)
    assert second.count('<span class="name">') == 10 and "Signer 59" in second and "Signer 49<" not in second
    assert "Only Org" in second, "the organizations stay on their own first page"
    assert client.get("/signers?ind_after=abc").status_code == 404
    assert client.get("/signers?org_after=999999999").status_code == 404
    front = client.get("/?lang=en").get_data(as_text=True)
    assert front.count('<span class="name">') == 50 and "See all the individuals" in front


def test_the_export_adds_the_open_letter_columns(letter_app, client, letter_organizer, smtp):
    organization = sign_and_confirm_as(client, letter_app, smtp, ORGANIZATION)
    review(letter_organizer, organization, "approve")
    sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    text = letter_organizer.get("/admin/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][-6:] == [
        "signatory_type",
        "title",
        "organization",
        "website",
        "contact_name",
        "approved_at",
    ]
    by_type = {row[-6]: row for row in rows[1:]}
    assert by_type["organization"][-5:-1] == ["", "", "https://ligue.example/fr", "Zoé Secrète"]
    assert by_type["organization"][-1].endswith("Z")
    assert by_type["individual"][-5:] == ["Professor of law", "University of Example", "", "", ""]


def test_the_embed_widget_shows_both_counts(letter_app, client):
    make_signature(letter_app, 1, public=True, approved_at=ago(minutes=50), signatory_type="organization")
    widget = client.get("/embed").get_data(as_text=True)
    assert 'data-part="organizations"' in widget and 'data-part="individuals"' in widget


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "campaign.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                'addressee = ["The Honourable Minister of Public Safety", '
                '"269 Laurier Avenue West", "Ottawa ON K1A 0P8"]\n',
                "",
            ),
            "en.addressee is missing",
        ),
        (('salutation = "Dear Minister,"\n', 'salutation = ""\n'), "en.salutation is empty"),
        (('closing = "Respectfully yours,"\n', 'closing = ["Respectfully"]\n'), "en.closing must be text"),
        (
            ('cc = ["The Privacy Commissioner of Canada"]\n', 'cc = "The Privacy Commissioner"\n'),
            "en.cc must be a list",
        ),
        (("letter_date = 2027-04-07\n", 'letter_date = "April 7"\n'), "letter_date must be a date"),
        (("letter_date = 2027-04-07\n", "moderation = 0\n"), "moderation must be true or false"),
        (("letter_date = 2027-04-07\n", "moderaton = false\n"), 'did you mean "moderation"'),
        (("letter_date = 2027-04-07\n", "show_reasons = true\n"), "show_reasons is for petitions"),
    ],
)
def test_a_broken_open_letter_is_refused_with_the_field_named(tmp_path, change, message):
    text = OPEN_LETTER.read_text()
    assert change[0] in text
    with pytest.raises(CampaignError, match=message):
        load_campaign(_write(tmp_path, text.replace(change[0], change[1], 1)))


def test_a_petition_refuses_the_open_letter_keys(tmp_path):
    text = (
        OPEN_LETTER.read_text()
        .replace('kind = "open_letter"\n', "")
        .replace("letter_date = 2027-04-07\n", "")
    )
    with pytest.raises(CampaignError, match="en.addressee is not a key"):
        load_campaign(_write(tmp_path, text))


def test_the_demo_open_letter_is_valid_with_moderation_on():
    campaign = load_campaign(Path(__file__).parent.parent / "campaigns" / "open-letter.toml")
    assert campaign.kind == "open_letter" and campaign.settings.moderation is True
    assert campaign.languages == ("en", "fr")
    assert campaign.content["fr"].letter.addressee[0].startswith("L'honorable")


def test_demo_seed_fills_the_open_letter_with_listed_and_waiting_signatories(make_app):
    app = make_app(DEVELOPMENT=True, CAMPAIGN_FILE=str(OPEN_LETTER))
    result = app.test_cli_runner().invoke(args=["demo", "seed", "--count", "200"])
    assert "Added 200 demo signatures." in result.output
    rows = signature_rows(app)
    listed = [row for row in rows if row.approved_at is not None]
    waiting = [row for row in rows if row.confirmed_at is not None and row.approved_at is None]
    assert listed and waiting
    organizations = [row.name for row in listed if row.signatory_type == "organization"]
    assert organizations and len(set(organizations)) == len(organizations)
    client = app.test_client()
    assert count(client) == {
        **count(client),
        "count": len(listed),
        "organizations": len(organizations),
        "individuals": len(listed) - len(organizations),
    }


def test_retention_takes_every_name_off_the_letter_even_from_a_cached_page(letter_app, client):
    make_signature(letter_app, 1, name="Kept Until Retention", public=True, approved_at=ago(minutes=50))
    with letter_app.app_context():
        add_to_count(1)
        db.session.commit()
    forget_tally(letter_app)
    assert "Kept Until Retention" in client.get("/?lang=en").get_data(as_text=True)
    change_campaign(letter_app, deadline=today() - dt.timedelta(days=40), retention_days=30)
    for path in ("/", "/signers"):  # the closed page, cached with the name
        assert "Kept Until Retention" in client.get(path).get_data(as_text=True), "not anonymised yet"
    with letter_app.app_context():
        assert anonymise_due(actor="test") == 1
    for path in ("/", "/signers"):
        assert "Kept Until Retention" not in client.get(path).get_data(as_text=True)


def test_the_cached_page_shows_the_letters_date_of_today_not_of_the_day_it_was_cached(letter_app, client):
    campaign = home_campaign(letter_app)
    for day, shown in ((dt.date(2027, 4, 7), "April 7, 2027"), (dt.date(2027, 4, 8), "April 8, 2027")):
        # An undated letter is dated the day it is read: this stands in for the clock passing midnight.
        settings = dataclasses.replace(campaign.settings, letter_date=day)
        change_campaign(letter_app, settings=settings)
        assert shown in client.get("/?lang=en").get_data(as_text=True)


def _past_retention(app):
    change_campaign(app, deadline=today() - dt.timedelta(days=40), retention_days=30)


def test_retention_erases_the_letters_own_personal_fields_and_keeps_the_count_the_sum_of_its_parts(
    letter_app, client, letter_organizer, smtp
):
    for fields in (ORGANIZATION, INDIVIDUAL):
        review(letter_organizer, sign_and_confirm_as(client, letter_app, smtp, fields), "approve")
    forget_tally(letter_app)
    assert count(client) == {**count(client), "count": 2, "organizations": 1, "individuals": 1}
    _past_retention(letter_app)
    with letter_app.app_context():
        assert anonymise_due(actor="test") == 2
    for row in signature_rows(letter_app):
        assert (row.title, row.organization, row.website, row.contact_name) == ("", "", "", "")
    forget_tally(letter_app)
    assert count(client) == {**count(client), "count": 0, "organizations": 0, "individuals": 0}


def test_a_closed_letter_takes_no_signature_and_keeps_its_lists(letter_app, client):
    make_signature(letter_app, 1, name="Signed In Time", public=True, approved_at=ago(minutes=50))
    change_campaign(letter_app, deadline=today() - dt.timedelta(days=2))
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "This letter is closed for signing" in page and "Signed In Time" in page
    assert 'name="signatory_type"' not in page
    response = client.post("/sign", data={**INDIVIDUAL, "csrf_token": csrf_token(client, "/admin/login")})
    assert response.status_code == 410
    assert "This letter is closed for signing" in response.get_data(as_text=True)
    assert [row.name for row in signature_rows(letter_app)] == ["Signed In Time"]


# --- races -------------------------------------------------------------------------------------


def test_organizers_approving_at_once_and_signatories_withdrawing_meanwhile_keep_the_count_exact(
    letter_app,
):
    ids = [
        make_signature(
            letter_app, number, public=True, signatory_type=(INDIVIDUAL_TYPE, ORGANIZATION_TYPE)[number % 2]
        ).id
        for number in range(12)
    ]
    jobs = [(approve_signatories, [signature_id]) for signature_id in ids for _ in range(2)]
    jobs += [(approve_signatories, ids)]  # a bulk approval of the same page
    jobs += [(hide_signature, signature_id) for signature_id in ids[::3]]  # withdrawals racing them
    barrier = threading.Barrier(len(jobs))

    def run(job):
        action, argument = job
        with letter_app.app_context():
            barrier.wait(timeout=30)
            for attempt in range(50):  # a writer that waited too long on SQLite's lock tries again
                try:
                    return action(argument, actor=ORGANIZER_EMAIL)
                except OperationalError:
                    db.session.rollback()
                    time.sleep(0.05 * attempt)
            raise AssertionError("the database stayed locked")

    with ThreadPoolExecutor(len(jobs)) as pool:
        list(pool.map(run, jobs))
    with letter_app.app_context():
        approvals = db.session.scalars(
            select(OutboxMessage.signature_id).where(OutboxMessage.kind == LISTED)
        ).all()
        assert sorted(approvals) == sorted(set(approvals)), "one listed email per signatory"
    forget_tally(letter_app)
    figures = count(letter_app.test_client())
    listed = [row for row in signature_rows(letter_app) if row.approved_at and row.public]
    assert figures["count"] == len(listed) == figures["organizations"] + figures["individuals"]
    assert figures["organizations"] == sum(row.signatory_type == ORGANIZATION_TYPE for row in listed)


def test_the_count_read_while_organizers_approve_is_always_the_sum_of_its_parts(letter_app):
    ids = [make_signature(letter_app, number, public=True).id for number in range(120)]
    approved = threading.Event()
    sums = []

    def approve():
        try:
            with letter_app.app_context():
                for signature_id in ids:
                    approve_signatories([signature_id], actor=ORGANIZER_EMAIL)
        finally:
            approved.set()  # the reader stops even if an approval failed

    def read():
        cache = count_cache_of(letter_app)
        with letter_app.app_context():
            while not approved.is_set():
                cache.forget()
                total, _updated_at, parts = cache.get()
                db.session.rollback()  # each read in a transaction of its own, as each request has
                sums.append((total, sum(dict(parts).values())))

    threads = [threading.Thread(target=approve), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sums and all(total == parts for total, parts in sums), [
        pair for pair in sums if len(set(pair)) > 1
    ]
    forget_tally(letter_app)
    assert count(letter_app.test_client())["count"] == len(ids), "every approval landed"


def test_the_confirmation_email_names_no_one_and_speaks_of_the_letter(letter_app, client, smtp):
    assert sign(client, **ORGANIZATION).status_code == 303
    deliver(letter_app)
    body = text_part(last_message_to(smtp, ORGANIZATION["email"]))
    assert body.startswith("Hello,"), "anyone can type an address: what they typed stays out"
    assert ORGANIZATION["contact_name"] not in body and "Ligue" not in body
    assert "You sign for an organization" in body
    assert "your name appears on the letter once it is confirmed" in body
    assert "petition" not in body.lower().replace("petition.test", ""), "the test site's host aside"


def test_a_signatory_waiting_for_approval_is_never_told_they_are_counted(letter_app, client, smtp):
    sign_and_confirm_as(client, letter_app, smtp, INDIVIDUAL)
    assert sign(client, **INDIVIDUAL).status_code == 303  # again: the "already signed" email
    deliver(letter_app)
    again = text_part(last_message_to(smtp, INDIVIDUAL["email"]))
    assert "already confirmed" in again and "counted" not in again
    page = client.get(link_in(last_message_to(smtp, INDIVIDUAL["email"]), "/manage/") + "?lang=en")
    text = page.get_data(as_text=True)
    assert "once an organizer has approved it" in text and "It is counted" not in text
