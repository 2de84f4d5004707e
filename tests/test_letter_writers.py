"""One letter per person, per representative, per campaign (issue 19: letters as a harassment channel).

Signing, confirming, erasing and signing again sent the mayor five letters in a minute;
sixty `harasser+N@` addresses at one provider sent 44 letters in 20 s.
"""

import pytest
from sqlalchemy import select

from app.addresses import one_person
from app.extensions import db
from app.models import LetterWriter, Signature
from app.signatures import erase_signature
from helpers import LETTER_CAMPAIGN, deliver, link_in, press_button, text_part, write_letter


@pytest.fixture
def letter_app(make_app):
    return make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN))


def write_and_confirm(app, smtp, email: str, targets=("mayor",)) -> None:
    client = app.test_client()
    assert write_letter(client, email=email, targets=list(targets)).status_code == 303
    deliver(app)
    [confirmation] = [m for m in smtp.messages if m["To"] == email and "/confirm/" in text_part(m)][-1:]
    assert press_button(client, link_in(confirmation, "/confirm/")).status_code == 303
    deliver(app)


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
    write_and_confirm(letter_app, smtp, "ana@example.ca", targets=("mayor", "ward-1"))
    assert len(letters_to(smtp, "mayor@example.org")) == 1
    assert len(letters_to(smtp, "ward1@example.org")) == 1


def test_one_person_drops_tags_everywhere_and_dots_only_where_the_provider_ignores_them():
    assert one_person("ana+news@example.ca") == "ana@example.ca"
    assert one_person("a.n.a@example.ca") == "a.n.a@example.ca"
    assert one_person("A.na+x@googlemail.com".lower()) == "ana@gmail.com"
    assert one_person("+only@example.ca") == "+only@example.ca"
