"""Letters as a harassment channel (issue 19): one letter per person, per representative, per
campaign; a daily ceiling per representative; and the letters sent stay counted after their
writer is erased.

Signing, confirming, erasing and signing again sent the mayor five letters in a minute;
sixty `harasser+N@` addresses at one provider sent 44 letters in 20 s.
"""

import datetime as dt

import pytest
from sqlalchemy import select

from app.addresses import one_person
from app.clock import utcnow
from app.extensions import db
from app.kinds import kind_for
from app.mail.ceiling import letter_day, next_day_starts
from app.mail.outbox import Claim, claim_with_lease, lease_length
from app.models import LetterDay, LetterWriter, OutboxMessage, Signature
from app.signatures import erase_signature
from helpers import (
    LETTER_CAMPAIGN,
    add_organizer,
    deliver,
    home_campaign,
    link_in,
    log_in,
    press_button,
    text_part,
    write_letter,
)


@pytest.fixture
def letter_app(make_app):
    return make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN))


def write_and_confirm(app, smtp, email: str, targets=("mayor",)) -> str:
    """Write, confirm by the emailed link; the thank-you page."""
    client = app.test_client()
    assert write_letter(client, email=email, targets=list(targets)).status_code == 303
    deliver(app)
    [confirmation] = [m for m in smtp.messages if m["To"] == email and "/confirm/" in text_part(m)][-1:]
    confirmed = press_button(client, link_in(confirmation, "/confirm/"))
    assert confirmed.status_code == 303
    deliver(app)
    return client.get(confirmed.headers["Location"]).get_data(as_text=True)


def letters_to(smtp, address: str) -> list:
    return [message for message in smtp.messages if message["To"] == address]


def erase_everyone(app) -> None:
    with app.app_context():
        for signature_id in db.session.scalars(select(Signature.id)).all():
            erase_signature(signature_id, actor="the signer")


def test_signing_erasing_and_signing_again_sends_no_second_letter(letter_app, smtp):
    for _ in range(3):
        write_and_confirm(letter_app, smtp, "ana@example.ca")
        erase_everyone(letter_app)
    assert len(letters_to(smtp, "mayor@example.org")) == 1
    with letter_app.app_context():
        [kept] = db.session.scalars(select(LetterWriter)).all()
    assert kept.target_id == "mayor" and "ana" not in kept.writer, "a keyed hash, nothing of the writer"


def test_addresses_that_differ_by_a_tag_or_ignored_dots_write_once(letter_app, smtp):
    for address in ("harasser+1@example.ca", "harasser+2@example.ca", "harasser@example.ca"):
        write_and_confirm(letter_app, smtp, address, targets=("mayor", "ward-1"))
    for address in ("j.doe@gmail.com", "jdoe@googlemail.com"):
        write_and_confirm(letter_app, smtp, address)
    assert len(letters_to(smtp, "mayor@example.org")) == 2
    assert len(letters_to(smtp, "ward1@example.org")) == 1


def test_a_writer_who_wrote_to_one_representative_can_still_write_to_another(letter_app, smtp):
    write_and_confirm(letter_app, smtp, "ana@example.ca", targets=("mayor",))
    erase_everyone(letter_app)
    thanks = write_and_confirm(letter_app, smtp, "ana@example.ca", targets=("mayor", "ward-1"))
    assert len(letters_to(smtp, "mayor@example.org")) == 1
    assert len(letters_to(smtp, "ward1@example.org")) == 1
    assert "You had already written from this address to one" in thanks, "told why no second letter goes"


def test_one_person_drops_tags_everywhere_and_dots_only_where_the_provider_ignores_them():
    assert one_person("ana+news@example.ca") == "ana@example.ca"
    assert one_person("a.n.a@example.ca") == "a.n.a@example.ca"
    assert one_person("A.na+x@googlemail.com".lower()) == "ana@gmail.com"
    assert one_person("+only@example.ca") == "+only@example.ca"


def figures(app) -> dict:
    with app.test_request_context():
        kind = kind_for(home_campaign(app))
        return {
            "letters": kind.count_parts()["letters"],
            **{row.target_id: row for row in kind.dashboard_figures()},
        }


def test_letters_past_a_representatives_daily_ceiling_wait_for_the_next_day(make_app, smtp):
    app = make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN), LETTERS_PER_REPRESENTATIVE_DAILY=2)
    for writer in ("ana@example.ca", "ben@example.ca", "chloe@example.ca"):
        write_and_confirm(app, smtp, writer, targets=("mayor",))
    assert len(letters_to(smtp, "mayor@example.org")) == 2
    mayor = figures(app)["mayor"]
    assert (mayor.sent, mayor.waiting, mayor.next_day) == (2, 1, 1)
    add_organizer(app)
    organizer = app.test_client()
    log_in(organizer)
    dashboard = organizer.get("/admin/").get_data(as_text=True)
    assert "1 for the next day: today" in dashboard or "1 pour le lendemain" in dashboard

    with app.app_context():
        tomorrow = next_day_starts(letter_day(utcnow()))  # midnight in the campaign's time zone
    deliver(app, now=tomorrow - dt.timedelta(minutes=1))
    assert len(letters_to(smtp, "mayor@example.org")) == 2
    deliver(app, now=tomorrow + dt.timedelta(minutes=1))
    assert len(letters_to(smtp, "mayor@example.org")) == 3
    assert (figures(app)["mayor"].sent, figures(app)["mayor"].next_day) == (3, 0)
    with app.app_context():
        assert sorted(day.sent for day in db.session.scalars(select(LetterDay))) == [1, 2]


def test_the_letters_sent_stay_counted_after_their_writer_is_erased(letter_app, smtp):
    write_and_confirm(letter_app, smtp, "ana@example.ca", targets=("mayor", "ward-1"))
    write_and_confirm(letter_app, smtp, "ben@example.ca", targets=("mayor",))
    before = figures(letter_app)
    erase_everyone(letter_app)
    after = figures(letter_app)
    assert before["letters"] == after["letters"] == 3
    assert (after["mayor"].sent, after["ward-1"].sent) == (2, 1)
    assert (after["mayor"].name, after["mayor"].waiting, after["mayor"].unconfirmed) == (
        before["mayor"].name,
        0,
        0,
    )


def test_a_letter_that_never_left_can_be_written_again_after_erasure(make_app, smtp):
    app = make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN), LETTERS_PER_REPRESENTATIVE_DAILY=1)
    write_and_confirm(app, smtp, "ben@example.ca", targets=("mayor",))
    write_and_confirm(app, smtp, "ana@example.ca", targets=("mayor",))  # waits: the day's one is taken
    with app.app_context():
        [ana] = db.session.scalars(select(Signature.id).where(Signature.email == "ana@example.ca")).all()
        erase_signature(ana, actor="the signer")  # she fixes a typo before it ever left
    write_and_confirm(app, smtp, "ana@example.ca", targets=("mayor",))
    with app.app_context():
        tomorrow = next_day_starts(letter_day(utcnow()))
    deliver(app, now=tomorrow + dt.timedelta(minutes=1))
    assert [m["Reply-To"] for m in letters_to(smtp, "mayor@example.org")] == [
        "ben@example.ca",
        "ana@example.ca",
    ]


def test_a_letter_taken_over_after_a_deliverer_died_is_counted_once_and_given_back_if_refused(
    letter_app, smtp
):
    client = letter_app.test_client()
    assert write_letter(client, email="ana@example.ca", targets=["mayor"]).status_code == 303
    deliver(letter_app)
    confirmation = [m for m in smtp.messages if "/confirm/" in text_part(m)][-1]
    assert press_button(client, link_in(confirmation, "/confirm/")).status_code == 303
    with letter_app.app_context():  # one deliverer hands the letter over, and dies
        now = utcnow()
        [letter] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.letter_id.is_not(None))).all()
        claim = Claim(claim_with_lease(now, now + lease_length(), 10), now + lease_length())
        assert claim.hand_over(letter.id, now, letter.letter_id)
        taken_over_at = now + lease_length() + dt.timedelta(minutes=1)
    assert figures(letter_app)["letters"] == 1
    smtp.sink.refuse = {"mayor@example.org": "550 5.1.1 No such mailbox"}
    deliver(letter_app, now=taken_over_at)  # another deliverer takes it over
    with letter_app.app_context():
        assert db.session.get(OutboxMessage, letter.id).status == OutboxMessage.FAILED
    assert figures(letter_app)["letters"] == 0, "refused: not counted as sent, its place given back"
