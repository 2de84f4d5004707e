"""The open letter's PDF is built in the background, once per list version for every worker and
instance, and no request waits for it (issue 19: one PDF could stall the whole site).

Before, each worker built each language itself on the first download after every change: after
one approval with 2,000 signatories, 24 downloads took 78-165 s and `/signers` took 84 s.
"""

import datetime as dt
import io
import time

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.jobs import Jobs
from app.kinds.open_letter.pdfs import build_due_pdfs
from app.models import LetterPdf
from helpers import (
    INDIVIDUAL,
    OPEN_LETTER,
    ORGANIZATION,
    build_pdfs,
    count_cache_of,
    home_campaign,
    review,
    sign_and_confirm_as,
)

SECOND = {**INDIVIDUAL, "name": "Second Person", "email": "second@example.ca"}


@pytest.fixture
def listed(letter_app, letter_organizer, smtp):
    """One organization on the letter."""
    signature_id = sign_and_confirm_as(letter_app.test_client(), letter_app, smtp, ORGANIZATION)
    assert review(letter_organizer, signature_id, "approve").status_code == 303
    count_cache_of(letter_app).forget()


def text_of(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return "".join(
        "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages).split()
    )


def built_at(app) -> dict:
    with app.app_context():
        return dict(db.session.execute(select(LetterPdf.language, LetterPdf.built_at)).all())


def test_a_download_never_builds_it_says_the_pdf_is_being_prepared(letter_app, listed):
    client = letter_app.test_client()
    waiting = client.get("/letter.pdf?lang=en")
    assert waiting.status_code == 503 and waiting.headers["Retry-After"] == "30"
    page = waiting.get_data(as_text=True)
    assert "The PDF is being prepared" in page and 'href="/letter?lang=en"' in page
    assert built_at(letter_app) == {}, "the request built nothing"

    assert build_pdfs(letter_app) == 2  # both languages
    served = client.get("/letter.pdf?lang=en")
    assert "Ligue" in text_of(served) and "Aslistedon" in text_of(served)
    assert served.last_modified is not None


def test_one_build_serves_every_instance(letter_app, listed, make_app):
    other_instance = make_app(CAMPAIGN_FILE=str(OPEN_LETTER))
    build_pdfs(letter_app)
    first = letter_app.test_client().get("/letter.pdf?lang=fr").data
    assert other_instance.test_client().get("/letter.pdf?lang=fr").data == first
    before = built_at(letter_app)
    assert build_pdfs(other_instance) == 0, "up to date: nothing to build"
    assert built_at(letter_app) == before


def test_after_a_change_the_last_pdf_is_served_until_the_list_has_been_still(
    letter_app, listed, letter_organizer, smtp
):
    client = letter_app.test_client()
    build_pdfs(letter_app)
    old = client.get("/letter.pdf?lang=en").data
    signature_id = sign_and_confirm_as(client, letter_app, smtp, SECOND)
    assert review(letter_organizer, signature_id, "approve").status_code == 303
    count_cache_of(letter_app).forget()

    assert client.get("/letter.pdf?lang=en").data == old, "the last one, meanwhile"
    with letter_app.app_context():
        assert build_due_pdfs(utcnow()) == 0, "debounced: the list changed a moment ago"
        quiet = dt.timedelta(seconds=letter_app.config["LETTER_PDF_QUIET"] + 1)
        assert build_due_pdfs(utcnow() + quiet) == 2
    assert "SecondPerson" in text_of(client.get("/letter.pdf?lang=en"))


def test_a_build_under_way_elsewhere_is_not_started_twice(letter_app, listed):
    with letter_app.app_context():
        db.session.add(
            LetterPdf(
                campaign_id=home_campaign(letter_app).id,
                language="en",
                version="",
                building_until=utcnow() + dt.timedelta(hours=2),
            )
        )
        db.session.commit()
    assert build_pdfs(letter_app) == 1, "French only: English is another builder's"
    assert letter_app.test_client().get("/letter.pdf?lang=en").status_code == 503


def test_a_build_past_its_memory_bound_fails_and_says_so(make_app, listed):
    starved = make_app(CAMPAIGN_FILE=str(OPEN_LETTER), LETTER_PDF_MEMORY_MB=64)
    assert build_pdfs(starved) == 0
    with starved.app_context():
        assert all(row.last_error and row.pdf is None for row in db.session.scalars(select(LetterPdf)))
    page = starved.test_client().get("/letter.pdf")
    assert page.status_code == 503 and "The PDF cannot be made right now" in page.get_data(as_text=True)
    assert starved.test_client().get("/").status_code == 200


def test_the_deliverer_builds_the_pdfs_beside_the_mail(make_app, listed):
    app = make_app(CAMPAIGN_FILE=str(OPEN_LETTER), LETTER_PDF_QUIET=0)
    deliverer = Jobs(app, poll_seconds=0.2).start()
    try:
        deadline = time.monotonic() + 120
        while len([at for at in built_at(app).values() if at]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        deliverer.stop()
    assert "Ligue" in text_of(app.test_client().get("/letter.pdf?lang=fr"))
