"""Letters with the Represent API (the local fake in represent_fake.py): its answers add
representatives a letter can go to, and when it fails or stalls the page still answers, in
time, from the campaign's CSV."""

import re
import time

import pytest

import represent_fake
from helpers import (
    LETTER_CAMPAIGN,
    confirm_letter,
    deliver,
    letters_to_representatives,
    step_two,
    write_letter,
)

TIMEOUT = 0.5
COUNCILLOR = represent_fake.representative(
    "Noor Haddad", "Councillor", "Ward 2", "Riverbend City Council", email="noor.haddad@example.org"
)
MP = represent_fake.representative(
    "Owen Young", "MP", "Riverbend Centre", "House of Commons", email="mp@example.org"
)


@pytest.fixture
def app(make_app, represent):
    represent.add("K1B2C3", concordance=[COUNCILLOR, MP])
    return make_app(
        CAMPAIGN_FILE=str(LETTER_CAMPAIGN), REPRESENT_URL=represent.url, REPRESENT_TIMEOUT=TIMEOUT
    )


@pytest.fixture
def client(app):
    client = app.test_client()
    client.get("/?lang=fr")
    return client


def ticked_ids(page: str) -> list[str]:
    return re.findall(r'name="targets" id="[^"]+" value="([^"]+)" checked', page)


def test_represent_adds_the_campaign_levels_representatives_and_a_letter_goes_to_them(client, app, smtp):
    page = step_two(client, "K1B 2C3").get_data(as_text=True)
    assert "Noor Haddad" in page and "Owen Young" not in page, "the campaign asks for mayors and councillors"
    assert "Daniel Okonkwo" in page, "the CSV's representatives stay"
    ids = ticked_ids(page)
    assert ids[:2] == ["mayor", "ward-1"] and len(ids) == 3
    write_letter(client, "K1B 2C3", targets=ids)
    confirm_letter(client, app, smtp)
    deliver(app)
    recipients = sorted(message["To"] for message in letters_to_representatives(smtp))
    assert recipients == ["mayor@example.org", "noor.haddad@example.org", "ward1@example.org"]


@pytest.mark.parametrize("behaviour", [represent_fake.ERROR, represent_fake.STALL, represent_fake.TRICKLE])
def test_when_represent_fails_or_stalls_the_page_answers_in_time_from_the_csv(
    client, app, represent, smtp, behaviour
):
    represent.behaviour = behaviour
    started = time.monotonic()
    response = step_two(client, "K1B 2C3")
    assert time.monotonic() - started < TIMEOUT + 1.5
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ticked_ids(page) == ["mayor", "ward-1"]
    assert write_letter(client, "K1B 2C3").status_code == 303, "signing agrees with the page"
    confirm_letter(client, app, smtp)
    deliver(app)
    recipients = sorted(message["To"] for message in letters_to_representatives(smtp))
    assert recipients == ["mayor@example.org", "ward1@example.org"]


def test_a_represent_target_cannot_be_forged_for_another_postal_code(client, app, smtp):
    represent_id = ticked_ids(step_two(client, "K1B 2C3").get_data(as_text=True))[2]
    assert write_letter(client, "K1A 0B1", targets=["mayor", represent_id]).status_code == 422
