"""What is confirmed is what the confirming person saw and wrote (issue 19's first finding).

Anyone can type anyone's address into a sign form. Each submission keeps its own answers
and gets its own emailed link; pressing a link confirms those answers and no other, and
the address's other pending submissions are dropped. For each kind: someone else first
and the owner second, the reverse, and one person in two tabs.
"""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ConsentWording, Letter, Submission
from app.submissions import answer_columns
from helpers import (
    LETTER_CAMPAIGN,
    OPEN_LETTER,
    csrf_token,
    deliver,
    link_in,
    press_button,
    sign,
    signature_rows,
    text_part,
    write_letter,
)

OWNER = "olivia@example.ca"


def confirmation_links(smtp) -> list[str]:
    """The confirmation links emailed to the owner's address, oldest first."""
    return [
        link_in(message, "/confirm/")
        for message in smtp.messages
        if message["To"] == OWNER and "/confirm/" in text_part(message)
    ]


def submit(app, smtp, send, **fields) -> str:
    """Submit the owner's address from a browser of its own; the link emailed for this submission."""
    response = send(app.test_client(), email=OWNER, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    deliver(app)
    return confirmation_links(smtp)[-1]


def the_row(app):
    """The one signature, with its kind's own columns."""
    [row] = signature_rows(app)
    return row


def submissions_left(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Submission)).all())


def confirm_in_new_browser(app, link: str):
    return press_button(app.test_client(), link)


def press_later(app, link: str):
    """Press a link's button after the address was confirmed by another one (the page, opened
    now, has no button: the form was loaded before, in a tab left open)."""
    client = app.test_client()
    response = client.post(link, data={"csrf_token": csrf_token(client, "/check-inbox")})
    assert response.status_code == 303
    return response


# --- a petition ---------------------------------------------------------------------------------

SOMEONE_ELSE = {"name": "Mallory Impostor", "comment": "Call 555-0100 now", "public": "y", "updates": "y"}
THE_OWNER = {"name": "Olivia Owner"}  # neither box ticked, no comment


def assert_the_owners_petition_signature(app, client):
    row = the_row(app)
    assert (row.name, row.comment, row.public, row.updates) == ("Olivia Owner", "", False, False)
    assert row.updates_consented_at is None and row.consent_version is None, "no consent she never gave"
    assert row.confirmed
    assert submissions_left(app) == 0
    assert "Mallory" not in client.get("/signers").get_data(as_text=True)
    assert client.get("/api/count").get_json()["count"] == 1


def test_a_petition_confirms_the_owners_answers_when_someone_else_submitted_first(app, client, smtp):
    theirs = submit(app, smtp, sign, **SOMEONE_ELSE)
    hers = submit(app, smtp, sign, **THE_OWNER)
    assert theirs != hers
    page = client.get(hers).get_data(as_text=True)
    assert "Olivia Owner" in page and "Mallory" not in page
    assert "Your name is not shown in the public list." in page
    assert "You will not get emails about the campaign" in page
    assert "Mallory Impostor" in client.get(theirs).get_data(as_text=True), "each link shows its own"
    assert confirm_in_new_browser(app, hers).status_code == 303
    assert_the_owners_petition_signature(app, client)
    # The other link, pressed later, changes nothing: the address is counted already.
    press_later(app, theirs)
    assert_the_owners_petition_signature(app, client)


def test_a_petition_confirms_the_owners_answers_when_someone_else_submitted_after_her(app, client, smtp):
    hers = submit(app, smtp, sign, **THE_OWNER)
    theirs = submit(app, smtp, sign, **SOMEONE_ELSE)
    assert confirm_in_new_browser(app, hers).status_code == 303
    assert_the_owners_petition_signature(app, client)
    press_later(app, theirs)
    assert_the_owners_petition_signature(app, client)


def test_a_petition_signed_in_two_tabs_counts_once_with_the_tab_confirmed(app, client, smtp):
    first = submit(app, smtp, sign, name="Olivia", public="y")
    second = submit(app, smtp, sign, name="Olivia O.", updates="y")
    assert confirm_in_new_browser(app, first).status_code == 303
    press_later(app, second)
    row = the_row(app)
    assert (row.name, row.public, row.updates, row.consent_version) == ("Olivia", True, False, None)
    assert client.get("/api/count").get_json()["count"] == 1


def test_a_later_submissions_consent_is_recorded_with_its_own_time_and_wording(app, client, smtp):
    submit(app, smtp, sign, name="Olivia")
    hers = submit(app, smtp, sign, name="Olivia", updates="y")
    confirm_in_new_browser(app, hers)
    row = the_row(app)
    assert row.updates and row.updates_consented_at is not None
    with app.app_context():
        wording = db.session.get(ConsentWording, row.consent_version)
    assert "may email me" in wording.text


def test_this_wasnt_me_on_someone_elses_submission_leaves_the_owners_own(app, client, smtp):
    hers = submit(app, smtp, sign, **THE_OWNER)
    submit(app, smtp, sign, **SOMEONE_ELSE)
    not_me = link_in(smtp.messages[-1], "/not-me/")
    assert press_button(app.test_client(), not_me).status_code == 200
    assert submissions_left(app) == 0
    assert confirm_in_new_browser(app, hers).status_code == 303
    assert_the_owners_petition_signature(app, client)


def test_the_confirmation_email_carries_no_word_the_submitter_typed(app, smtp):
    submit(app, smtp, sign, **SOMEONE_ELSE)
    [message] = smtp.messages
    for part in (text_part(message), message["Subject"]):
        assert "Mallory" not in part and "555-0100" not in part
    body = text_part(message)
    assert "Your name and province are shown in the public list of signers." in body
    assert "You agree that" in body and "may email you" in body
    assert body.index("public list") < body.index("/confirm/"), "what is confirmed comes before the link"


@pytest.mark.parametrize("form", ["petition", "letter", "open_letter"])
def test_every_answer_of_each_kinds_form_is_kept_with_a_submission(make_app, form):
    """A column a form answers but a submission did not keep would keep the first submitter's value."""
    from app.kinds import kind_named

    campaign = {"petition": {}, "letter": {"CAMPAIGN_FILE": str(LETTER_CAMPAIGN)}}.get(
        form, {"CAMPAIGN_FILE": str(OPEN_LETTER)}
    )
    app = make_app(**campaign)
    with app.test_request_context("/", method="POST"):
        answered = {field.short_name for field in kind_named(form).form(meta={"csrf": False})}
    answered -= {"email", "csrf_token", *kind_named(form).form.NOT_ANSWERS}
    assert answered <= set(answer_columns(kind_named(form)))


# --- a letter to representatives ------------------------------------------------------------------

THEIR_LETTER = {"name": "Mallory Impostor", "subject": "Resign now", "message": "You are a disgrace."}
HER_LETTER = {"name": "Olivia Owner", "subject": "Merci", "message": "Merci pour votre travail."}


@pytest.fixture
def letter_app(make_app):
    return make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN))


def letters_sent(smtp) -> list:
    return [message for message in smtp.messages if message["Reply-To"] == OWNER]


def assert_only_her_letter_went(letter_app, smtp):
    deliver(letter_app)
    [letter] = letters_sent(smtp)
    assert (letter["To"], letter["Subject"]) == ("mayor@example.org", "Merci")
    assert "Olivia Owner" in letter["From"] and "Mallory" not in letter["From"]
    assert "Merci pour votre travail." in text_part(letter)
    with letter_app.app_context():
        assert [row.target_id for row in db.session.scalars(select(Letter))] == ["mayor"]
    row = the_row(letter_app)
    assert (row.name, row.subject, row.targets) == ("Olivia Owner", "Merci", "mayor")


def test_a_letter_sends_the_owners_text_when_someone_else_wrote_first(letter_app, smtp):
    theirs = submit(letter_app, smtp, write_letter, targets=["mayor", "ward-1"], **THEIR_LETTER)
    hers = submit(letter_app, smtp, write_letter, targets=["mayor"], **HER_LETTER)
    page = letter_app.test_client().get(hers).get_data(as_text=True)
    assert "Merci pour votre travail." in page and "disgrace" not in page
    assert "Alexandra Brightwater" in page, "the page names who the letter goes to"
    assert confirm_in_new_browser(letter_app, hers).status_code == 303
    assert_only_her_letter_went(letter_app, smtp)
    press_later(letter_app, theirs)
    assert_only_her_letter_went(letter_app, smtp)


def test_a_letter_sends_the_owners_text_when_someone_else_wrote_after_her(letter_app, smtp):
    hers = submit(letter_app, smtp, write_letter, targets=["mayor"], **HER_LETTER)
    theirs = submit(letter_app, smtp, write_letter, targets=["mayor", "ward-1"], **THEIR_LETTER)
    confirm_in_new_browser(letter_app, hers)
    assert_only_her_letter_went(letter_app, smtp)
    press_later(letter_app, theirs)
    assert_only_her_letter_went(letter_app, smtp)


def test_a_letter_written_in_two_tabs_goes_once_as_the_tab_confirmed(letter_app, smtp):
    first = submit(letter_app, smtp, write_letter, targets=["mayor"], **HER_LETTER)
    second = submit(letter_app, smtp, write_letter, targets=["mayor", "ward-1"], **HER_LETTER)
    confirm_in_new_browser(letter_app, first)
    press_later(letter_app, second)
    assert_only_her_letter_went(letter_app, smtp)


def test_a_letters_confirmation_email_names_the_recipients_but_not_the_text(letter_app, smtp):
    submit(letter_app, smtp, write_letter, targets=["mayor", "ward-1"], **THEIR_LETTER)
    body = text_part(smtp.messages[-1])
    assert "mayor@example.org" in body and "ward1@example.org" in body
    assert "Resign" not in body and "disgrace" not in body and "Mallory" not in body


# --- an open letter ---------------------------------------------------------------------------------

THEIR_SIGNATORY = {
    "signatory_type": "organization",
    "name": "Amnesty International Canada",
    "website": "https://amnesty.example",
    "contact_name": "Mallory Impostor",
}
HER_SIGNATORY = {"signatory_type": "individual", "name": "Olivia Owner", "title": "Professor"}


@pytest.fixture
def open_letter_app(make_app):
    return make_app(CAMPAIGN_FILE=str(OPEN_LETTER))


def assert_she_signs_as_herself(app):
    row = the_row(app)
    assert (row.signatory_type, row.name, row.title) == ("individual", "Olivia Owner", "Professor")
    assert (row.website, row.contact_name) == ("", "")
    assert row.confirmed and submissions_left(app) == 0


def test_an_open_letter_lists_the_owner_as_she_signed_when_someone_else_signed_first(open_letter_app, smtp):
    theirs = submit(open_letter_app, smtp, sign, **THEIR_SIGNATORY)
    hers = submit(open_letter_app, smtp, sign, **HER_SIGNATORY)
    page = open_letter_app.test_client().get(hers).get_data(as_text=True)
    assert "Olivia Owner, Professor" in page and "Amnesty" not in page
    confirm_in_new_browser(open_letter_app, hers)
    assert_she_signs_as_herself(open_letter_app)
    press_later(open_letter_app, theirs)
    assert_she_signs_as_herself(open_letter_app)


def test_an_open_letter_lists_the_owner_as_she_signed_when_someone_else_signed_after(open_letter_app, smtp):
    hers = submit(open_letter_app, smtp, sign, **HER_SIGNATORY)
    theirs = submit(open_letter_app, smtp, sign, **THEIR_SIGNATORY)
    page = open_letter_app.test_client().get(theirs).get_data(as_text=True)
    assert "Amnesty International Canada" in page and "Mallory Impostor" in page
    confirm_in_new_browser(open_letter_app, hers)
    assert_she_signs_as_herself(open_letter_app)
    press_later(open_letter_app, theirs)
    assert_she_signs_as_herself(open_letter_app)


def test_an_open_letter_signed_in_two_tabs_lists_the_tab_confirmed(open_letter_app, smtp):
    first = submit(open_letter_app, smtp, sign, **HER_SIGNATORY)
    second = submit(open_letter_app, smtp, sign, **{**HER_SIGNATORY, "title": "Dean"})
    confirm_in_new_browser(open_letter_app, first)
    press_later(open_letter_app, second)
    assert_she_signs_as_herself(open_letter_app)
