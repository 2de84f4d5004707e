"""English and French: language choice, a complete catalogue, every page and email in both."""

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import force_locale, get_translations

from app.emails import ALREADY_SIGNED, CONFIRMATION, render_email
from app.models import utcnow
from helpers import (
    add_organizer,
    csrf_token,
    deliver,
    link_in,
    log_in,
    make_signature,
    press_button,
    sign,
    signature_rows,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


# --- choosing the language ----------------------------------------------------------------


def test_lang_parameter_switches_and_is_remembered(client):
    page = client.get("/?lang=fr")
    assert '<html lang="fr">' in page.get_data(as_text=True)
    assert "lang=fr" in page.headers["Set-Cookie"]
    assert '<html lang="fr">' in client.get("/signers").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_accept_language_decides_when_nothing_was_chosen(client):
    assert '<html lang="fr">' in client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "de-DE,de"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_an_unknown_lang_value_is_ignored(client):
    response = client.get("/?lang=xx", headers={"Accept-Language": "fr"})
    assert '<html lang="fr">' in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]


def test_every_page_has_a_visible_switch_to_the_other_language(client):
    assert 'href="/signers?lang=fr" hreflang="fr" lang="fr">Français</a>' in client.get("/signers").get_data(
        as_text=True
    )
    french = client.get("/signers?lang=fr").get_data(as_text=True)
    assert 'href="/signers?lang=en" hreflang="en" lang="en">English</a>' in french


def test_the_signers_language_is_stored_and_later_emails_use_it(client, app, smtp):
    sign(client, "/?lang=fr", email="luc@example.ca")
    assert signature_rows(app)[0].language == "fr"
    english = app.test_client()
    english.post(
        "/resend", data={"email": "luc@example.ca", "csrf_token": csrf_token(english, "/check-inbox?lang=en")}
    )
    deliver(app)
    first, resent = smtp.messages
    for message in (first, resent):
        assert message["Content-Language"] == "fr"
        assert "Veuillez confirmer" in message["Subject"] or "confirmer" in message["Subject"].lower()
    press_button(client, link_in(resent, "/confirm/"))
    sign(english, "/?lang=en", email="luc@example.ca")
    deliver(app)
    assert smtp.messages[-1]["Content-Language"] == "fr"


# --- the catalogue ---------------------------------------------------------------------------


def _source_messages() -> set[str]:
    """Every translatable string in the code and templates, as pybabel extracts it."""
    method_map = [("app/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        keywords=keywords,
        options_map={"templates/**.html": {}, "templates/**.txt": {}},
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_string_in_the_code_has_a_french_translation():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {
        message.id[0] if isinstance(message.id, tuple) else message.id
        for message in catalogue
        if message.id
        and not message.fuzzy
        and all(message.string if isinstance(message.string, tuple) else (message.string,))
    }
    missing = sorted(_source_messages() - translated)
    assert missing == [], "untranslated (run `make messages`, then translate):\n" + "\n".join(missing)


def test_french_translations_keep_every_placeholder():
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if not message.id:
            continue
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            assert set(placeholder.findall(text)) == set(placeholder.findall(source)), (source, text)


# --- rendering everything in French ----------------------------------------------------------------


class MissRecorder(gettext.NullTranslations):
    """A catalogue's fallback: it sees exactly the strings the French catalogue lacks."""

    def __init__(self):
        super().__init__()
        self.missed: set[str] = set()

    def gettext(self, message):
        self.missed.add(message)
        return message

    def ngettext(self, singular, plural, n):
        self.missed.add(singular)
        return singular if n == 1 else plural


@pytest.fixture
def french_misses(app):
    recorder = MissRecorder()
    with app.test_request_context(), force_locale("fr"):
        get_translations().add_fallback(recorder)
    yield recorder.missed
    with app.test_request_context(), force_locale("fr"):
        get_translations()._fallback = None


def test_every_public_page_renders_in_french_without_a_missing_string(app, client, smtp, french_misses):
    client.get("/?lang=fr")
    pages = [
        "/",
        "/check-inbox",
        "/check-inbox?resent=1",
        "/signers",
        "/thanks",
        "/embed",
        "/nowhere",
        "/confirm/not-a-token",
        "/not-me/not-a-token",
        "/manage/not-a-token",
    ]
    for path in pages:
        assert '<html lang="fr">' in client.get(path).get_data(as_text=True), path
    invalid = client.post(
        "/sign",
        data={
            "csrf_token": csrf_token(client),
            "name": "",
            "email": "x",
            "postal_code": "1",
            "country": "XX",
            "comment": "x" * 2000,
        },
    )
    assert invalid.status_code == 422
    assert client.post("/sign").status_code == 400  # no CSRF token
    assert client.get("/sign").status_code == 405
    sign(client, email="ana@example.ca", public="y", updates="y")
    deliver(app)
    confirm_path = link_in(smtp.messages[-1], "/confirm/")
    withdraw_path = link_in(smtp.messages[-1], "/not-me/")
    for path in (confirm_path, withdraw_path):
        assert client.get(path).status_code == 200
    press_button(client, confirm_path)
    client.post(withdraw_path, data={"csrf_token": csrf_token(client)})  # "already confirmed"
    sign(client, email="ana@example.ca")
    deliver(app)
    manage = link_in(smtp.messages[-1], "/manage/")
    for done in ("", "?done=updates", "?done=hidden"):
        assert client.get(manage + done).status_code == 200
    client.post(f"{manage}/unsubscribe")
    client.post(f"{manage}/erase", data={"csrf_token": csrf_token(client, manage)})
    sign(client, email="bo@example.ca")
    deliver(app)
    client.post(link_in(smtp.messages[-1], "/not-me/"), data={"csrf_token": csrf_token(client)})
    assert french_misses == set()


def test_expired_link_page_renders_in_french(make_app, smtp, french_misses):
    app = make_app(CONFIRM_MAX_AGE=-1)
    client = app.test_client()
    sign(client, "/?lang=fr", email="ana@example.ca")
    deliver(app)
    page = client.get(link_in(smtp.messages[-1], "/confirm/"))
    assert page.status_code == 410 and '<html lang="fr">' in page.get_data(as_text=True)
    assert french_misses == set()


def test_every_organizer_page_renders_in_french_without_a_missing_string(app, client, french_misses):
    add_organizer(app)
    client.get("/admin/login?lang=fr")
    assert log_in(client, password="wrong password here").status_code == 401
    assert (
        client.post("/admin/login", data={"csrf_token": csrf_token(client, "/admin/login")}).status_code
        == 422
    )
    log_in(client)
    sign(client, email="ana@example.ca", public="y")
    for path in (
        "/admin/",
        "/admin/signers",
        "/admin/signers?email=ana@example.ca",
        "/admin/signers?email=nobody@example.ca",
        "/admin/signers?email=bad",
        "/admin/export.csv?since=x",
    ):
        assert '<html lang="fr">' in client.get(path).get_data(as_text=True), path
    [row] = signature_rows(app)
    token = csrf_token(client, "/admin/signers?email=ana@example.ca")
    client.post(f"/admin/signers/{row.id}/hide", data={"csrf_token": token})
    client.post(f"/admin/signers/{row.id}/erase", data={"csrf_token": token})
    client.post(f"/admin/signers/{row.id}/erase", data={"csrf_token": token})
    assert french_misses == set()


def test_login_throttle_page_renders_in_french(app, french_misses):
    add_organizer(app)
    client = app.test_client()
    client.get("/admin/login?lang=fr")
    for _ in range(11):
        response = log_in(client, password="wrong password here")
    assert response.status_code == 429
    assert "Trop" in response.get_data(as_text=True)
    assert french_misses == set()


@pytest.mark.parametrize("kind", [CONFIRMATION, ALREADY_SIGNED])
def test_every_email_renders_in_french_without_a_missing_string(app, french_misses, kind):
    confirmed_at = utcnow() if kind == ALREADY_SIGNED else None
    signature = make_signature(
        app, name="Luc", language="fr", postal_code="H2X 1Y4", confirmed_at=confirmed_at
    )
    with app.app_context():
        message = render_email(kind, signature)
    assert message.extra_headers["Content-Language"] == "fr"
    if kind == CONFIRMATION:  # anyone can type anyone's address: the name they gave stays out
        assert message.body.startswith("Bonjour,") and "Luc" not in message.body
    else:
        assert "Bonjour Luc" in message.body
    assert french_misses == set()


def test_emails_in_english_stay_english(app):
    signature = make_signature(app, name="Ann", language="en", confirmed_at=None)
    with app.app_context():
        message = render_email(CONFIRMATION, signature)
    assert message.subject.startswith("Please confirm your signature")
