"""The open letter as a PDF and as a printable page (app/letter_pdf.py renders them): the
approved signatories are on it, in both languages; pending ones, contact names and email
addresses never are; a change to the list shows at once."""

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.clock import today
from app.extensions import db
from app.models import CountShard
from app.retention import anonymise_due
from helpers import (
    INDIVIDUAL,
    ORGANIZATION,
    build_pdfs,
    change_campaign,
    count_cache_of,
    csrf_token,
    deliver,
    last_message_to,
    link_in,
    press_manage_button,
    review,
    sign,
    sign_and_confirm_as,
    signature_rows,
)

PENDING = {**INDIVIDUAL, "name": "Pending Person", "email": "pending@example.ca"}
UNCONFIRMED = {**INDIVIDUAL, "name": "Never Confirmed", "email": "never@example.ca"}


@pytest.fixture
def client(letter_app):
    return letter_app.test_client()


@pytest.fixture
def listed(letter_app, client, letter_organizer, smtp):
    """One organization and one individual approved, one confirmed and waiting, one unconfirmed."""
    for fields in (ORGANIZATION, INDIVIDUAL):
        signature_id = sign_and_confirm_as(client, letter_app, smtp, fields)
        assert review(letter_organizer, signature_id, "approve").status_code == 303
    sign_and_confirm_as(client, letter_app, smtp, PENDING)
    sign(client, **UNCONFIRMED)
    count_cache_of(letter_app).forget()


def pdf_text(client, path: str = "/letter.pdf") -> str:
    """The PDF's text once the background builder has caught up with the list."""
    build_pdfs(client.application)
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.data))
    return "\n".join(page.extract_text() for page in reader.pages)


def squeezed(text: str) -> str:
    """Text extraction may break lines anywhere: compare without white space."""
    return "".join(text.split())


SECRETS = (
    "Zoé Secrète",
    "contact@ligue.example",
    "ana@example.ca",
    "Pending Person",
    "Never Confirmed",
    "pending@example.ca",
    "Should be ignored",
    "ignored.example",
)


@pytest.mark.parametrize(
    ("language", "salutation"), [("en", "Dear Minister,"), ("fr", "Monsieur le Ministre,")]
)
def test_the_pdf_holds_the_letter_and_the_approved_signatories_only(client, listed, language, salutation):
    text = squeezed(pdf_text(client, f"/letter.pdf?lang={language}"))
    assert squeezed(salutation) in text
    assert squeezed("Ligue des droits <b>numériques</b>") in text, "a signatory's name is shown as typed"
    assert squeezed("Ana Tremblay") in text and squeezed("Professor of law") in text
    for secret in SECRETS:
        assert squeezed(secret) not in text, secret


def test_the_pdf_follows_approvals_and_withdrawals(letter_app, client, letter_organizer, listed, smtp):
    assert squeezed("Pending Person") not in squeezed(pdf_text(client))
    [pending] = [row.id for row in signature_rows(letter_app) if row.confirmed_at and not row.approved_at]
    assert review(letter_organizer, pending, "approve").status_code == 303
    count_cache_of(letter_app).forget()
    assert squeezed("Pending Person") in squeezed(pdf_text(client))
    deliver(letter_app)
    manage = link_in(last_message_to(smtp, INDIVIDUAL["email"]), "/manage/")
    assert press_manage_button(client, manage, "erase").status_code == 200
    count_cache_of(letter_app).forget()
    assert squeezed("Ana Tremblay") not in squeezed(pdf_text(client))


def test_the_printable_page_holds_the_letter_and_escapes_the_names(client, listed):
    response = client.get("/letter")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Dear Minister," in page and "Ana Tremblay" in page
    assert "Ligue des droits &lt;b&gt;numériques&lt;/b&gt;" in page
    for secret in SECRETS:
        assert secret not in page, secret
    assert "Monsieur le Ministre," in client.get("/letter?lang=fr").get_data(as_text=True)


def _take_off(how: str, letter_app, client, organizer, smtp, signature_id: int) -> None:
    if how in ("reject", "admin erase", "admin hide"):
        path = {
            "reject": f"/admin/signatures/{signature_id}/reject",
            "admin erase": f"/admin/signers/{signature_id}/erase",
            "admin hide": f"/admin/signers/{signature_id}/hide",
        }[how]
        assert organizer.post(path, data={"csrf_token": csrf_token(organizer, "/admin/")}).status_code in (
            200,
            303,
        )
    elif how in ("manage hide", "manage erase"):
        deliver(letter_app)
        manage = link_in(last_message_to(smtp, INDIVIDUAL["email"]), "/manage/")
        assert press_manage_button(client, manage, how.split()[1]).status_code in (200, 303)
    else:  # retention
        change_campaign(letter_app, deadline=today() - dt.timedelta(days=40), retention_days=30)
        with letter_app.app_context():
            assert anonymise_due(actor="test") >= 1


@pytest.mark.parametrize(
    "how", ["reject", "admin erase", "admin hide", "manage hide", "manage erase", "retention"]
)
def test_a_name_taken_off_leaves_every_cached_page_and_pdf_at_once(
    letter_app, client, letter_organizer, listed, smtp, how
):
    [ana] = [row.id for row in signature_rows(letter_app) if row.name == "Ana Tremblay"]
    paths = ("/?lang=en", "/?lang=fr", "/signers", "/letter")
    for path in paths:  # cached now, with the name
        assert "Ana Tremblay" in client.get(path).get_data(as_text=True), path
    for pdf in ("/letter.pdf?lang=en", "/letter.pdf?lang=fr"):
        assert squeezed("Ana Tremblay") in squeezed(pdf_text(client, pdf))

    _take_off(how, letter_app, client, letter_organizer, smtp, ana)
    count_cache_of(letter_app).forget()  # as the next second does

    for path in paths:
        assert "Ana Tremblay" not in client.get(path).get_data(as_text=True), path
    for pdf in ("/letter.pdf?lang=en", "/letter.pdf?lang=fr"):  # before any rebuild: none served
        waiting = client.get(pdf)
        assert waiting.status_code == 503 and waiting.headers["Retry-After"], pdf
        assert "The PDF is being prepared" in waiting.get_data(
            as_text=True
        ) or "PDF est en" in waiting.get_data(as_text=True)
    for pdf in ("/letter.pdf?lang=en", "/letter.pdf?lang=fr"):
        assert squeezed("Ana Tremblay") not in squeezed(pdf_text(client, pdf)), pdf
    left = 0 if how == "retention" else 1  # retention takes the organization off too
    figures = client.get("/api/count").get_json()
    assert figures["count"] == figures["organizations"] + figures["individuals"] == left
    with letter_app.app_context():
        assert db.session.scalar(select(func.sum(CountShard.count))) == left, "the shards moved with the list"
