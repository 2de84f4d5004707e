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


def hidden_inputs(page: str) -> dict[str, str]:
    """The hidden fields of step 2's form, as a browser sends them back."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)) | dict(
        re.findall(r'name="([^"]+)" type="hidden" value="([^"]*)"', page)
    )


def two_workers(make_app, represent):
    """Two apps on one database, each with its own Represent cache, as two gunicorn workers."""
    represent.add("K1B2C3", concordance=[COUNCILLOR, MP])
    config = {"CAMPAIGN_FILE": str(LETTER_CAMPAIGN), "REPRESENT_URL": represent.url}
    return make_app(**config, REPRESENT_TIMEOUT=TIMEOUT), make_app(**config, REPRESENT_TIMEOUT=TIMEOUT)


def post_on_other_worker(first, second, page: str, **changes):
    """The step 2 form shown by `first`'s worker, sent by the same browser to `second`'s."""
    second.set_cookie("session", first.get_cookie("session").value)
    data = {
        **hidden_inputs(page),
        "targets": ticked_ids(page),
        "subject": "Objet",
        "message": "Ma lettre.",
        "name": "Ana Tremblay",
        "email": "ana@example.ca",
        "country": "CA",
        **changes,
    }
    return second.post("/sign", data=data)


def test_represent_down_when_the_form_reaches_another_worker_still_sends_what_was_offered(
    make_app, represent, smtp
):
    worker_a, worker_b = two_workers(make_app, represent)
    browser_a, browser_b = worker_a.test_client(), worker_b.test_client()
    page = step_two(browser_a, "K1B 2C3").get_data(as_text=True)
    assert len(ticked_ids(page)) == 3
    represent.behaviour = represent_fake.ERROR  # down before the form comes back, to a cold cache
    response = post_on_other_worker(browser_a, browser_b, page)
    assert response.status_code == 303, "the signer did nothing wrong"
    confirm_letter(browser_b, worker_b, smtp)
    deliver(worker_b)
    recipients = sorted(message["To"] for message in letters_to_representatives(smtp))
    assert recipients == ["mayor@example.org", "noor.haddad@example.org", "ward1@example.org"]


def test_what_was_offered_for_one_postal_code_counts_for_no_other(make_app, represent, smtp):
    represent.add("K1A0B1", concordance=[])
    worker_a, worker_b = two_workers(make_app, represent)
    browser_a, browser_b = worker_a.test_client(), worker_b.test_client()
    page = step_two(browser_a, "K1B 2C3").get_data(as_text=True)
    represent.behaviour = represent_fake.ERROR
    response = post_on_other_worker(browser_a, browser_b, page, postal_code="K1A 0B1")
    assert response.status_code == 422
    tampered = hidden_inputs(page)["offered"][:-2] + "xx"
    response = post_on_other_worker(browser_a, browser_b, page, offered=tampered)
    assert response.status_code == 422, "a forged offer is not trusted: Represent is asked again, and is down"
    deliver(worker_b)
    assert letters_to_representatives(smtp) == []


def test_postal_codes_typed_in_arabic_indic_or_full_width_digits_are_read_as_ascii(client, represent):
    """An Arabic or a CJK phone keyboard gives these digits for the code the writer lives at:
    they are that code. What reaches Represent is ASCII, and Represent stays on throughout."""
    typed = ["K1B ٢C٣", "Ｋ１Ｂ　２Ｃ３", "k1b ۲c۳"]  # Arabic-Indic, full-width, Persian digits
    for number in range(24):
        response = step_two(client, typed[number % len(typed)])
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "Noor Haddad" in page, typed[number % len(typed)]
        assert 'value="K1B 2C3"' in page
    assert represent.requests == ["/postcodes/K1B2C3/"], "asked once, in ASCII, then cached"


def test_a_non_ascii_code_that_is_no_postal_code_gets_the_usual_message_and_asks_represent_nothing(
    client, represent
):
    for number in range(24):
        response = step_two(client, f"K1B ٢{number}٣")
        assert response.status_code == 422
        assert "Entrez un code postal canadien" in response.get_data(as_text=True)
    assert represent.requests == []
    assert "Noor Haddad" in step_two(client, "K1B 2C3").get_data(as_text=True), "Represent is still on"
