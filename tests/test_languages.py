"""A campaign in English only, French only, or both: pages, emails and errors in its language(s)."""

from pathlib import Path

import pytest

from app.campaign import CampaignError, load_campaign
from app.config import DEMO_CAMPAIGN
from app.emails import CONFIRMATION, render_email
from helpers import (
    add_organizer,
    csrf_token,
    deliver,
    html_part,
    link_in,
    log_in,
    make_signature,
    press_button,
    sign,
    signature_rows,
    text_part,
)

CAMPAIGNS = Path(__file__).resolve().parent / "campaigns"
ENGLISH_ONLY = CAMPAIGNS / "english-only.toml"
FRENCH_ONLY = CAMPAIGNS / "french-only.toml"
FRENCH_BROWSER = {"Accept-Language": "fr-CA,fr;q=0.9"}
ENGLISH_BROWSER = {"Accept-Language": "en-CA,en;q=0.9"}


@pytest.fixture
def english_app(make_app):
    return make_app(CAMPAIGN_FILE=str(ENGLISH_ONLY))


@pytest.fixture
def french_app(make_app):
    return make_app(CAMPAIGN_FILE=str(FRENCH_ONLY))


def _french_first(tmp_path) -> Path:
    """The demo campaign with its [fr] section before its [en] section."""
    head, rest = DEMO_CAMPAIGN.read_text(encoding="utf-8").split("\n[en]\n")
    english, french = rest.split("\n[fr]\n")
    path = tmp_path / "french-first.toml"
    path.write_text(f"{head}\n[fr]\n{french}\n[en]\n{english}", encoding="utf-8")
    return path


def _page(client, path, **kwargs) -> str:
    return client.get(path, **kwargs).get_data(as_text=True)


# --- the campaign file -----------------------------------------------------------------------


def test_languages_are_the_sections_present_in_file_order(tmp_path):
    assert load_campaign(DEMO_CAMPAIGN).languages == ("en", "fr")
    assert load_campaign(ENGLISH_ONLY).languages == ("en",)
    assert load_campaign(FRENCH_ONLY).languages == ("fr",)
    assert load_campaign(_french_first(tmp_path)).languages == ("fr", "en")


def test_a_campaign_without_any_language_section_is_refused(tmp_path):
    text = ENGLISH_ONLY.read_text(encoding="utf-8").replace("[en]", "[words]")
    path = tmp_path / "none.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError, match=r"at least one language: \[en\] or \[fr\]"):
        load_campaign(path)


@pytest.mark.parametrize("section", ["de", "es", "fr-CA", "en_US"])
def test_an_unknown_language_section_is_refused_naming_it(tmp_path, section):
    path = tmp_path / "other.toml"
    path.write_text(
        DEMO_CAMPAIGN.read_text(encoding="utf-8").replace("[fr]", f"[{section}]"), encoding="utf-8"
    )
    with pytest.raises(CampaignError, match=rf"\[{section}\] is not a language this site has"):
        load_campaign(path)


def test_keys_of_a_present_section_are_checked_as_before(tmp_path):
    path = tmp_path / "french.toml"
    path.write_text(
        FRENCH_ONLY.read_text(encoding="utf-8").replace("share_text", "share_txt"), encoding="utf-8"
    )
    with pytest.raises(CampaignError, match="fr.share_text is missing"):
        load_campaign(path)


def test_campaign_check_accepts_one_language_files_and_refuses_none(english_app, tmp_path):
    runner = english_app.test_cli_runner()
    for path in (ENGLISH_ONLY, FRENCH_ONLY):
        result = runner.invoke(args=["campaign", "check", str(path)])
        assert result.exit_code == 0, result.output
    empty = tmp_path / "empty.toml"
    empty.write_text(FRENCH_ONLY.read_text(encoding="utf-8").replace("[fr]", "[de]"), encoding="utf-8")
    result = runner.invoke(args=["campaign", "check", str(empty)])
    assert result.exit_code != 0
    assert "[de] is not a language this site has" in result.output


# --- pages -----------------------------------------------------------------------------------


def test_a_french_only_campaign_is_in_french_whatever_the_browser_or_link_asks(french_app):
    client = french_app.test_client()
    for path, headers in [
        ("/", ENGLISH_BROWSER),
        ("/?lang=en", ENGLISH_BROWSER),
        ("/", {"Accept-Language": "de"}),
        ("/", {}),
        ("/signers?lang=en", {}),
        ("/embed?lang=en", ENGLISH_BROWSER),
        ("/check-inbox?lang=en", ENGLISH_BROWSER),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert '<html lang="fr">' in page, path
        assert "lang=en" not in (response.headers.get("Set-Cookie") or ""), path
    page = _page(client, "/?lang=en", headers=ENGLISH_BROWSER)
    assert "Interdire la reconnaissance faciale" in page and "Signer la pétition" in page
    assert "Ban police use" not in page


def test_a_remembered_language_the_campaign_does_not_have_is_ignored(french_app):
    client = french_app.test_client()
    client.set_cookie("lang", "en")
    assert '<html lang="fr">' in _page(client, "/", headers=ENGLISH_BROWSER)


def test_an_english_only_campaign_is_in_english_whatever_the_browser_or_link_asks(english_app):
    client = english_app.test_client()
    for path in ("/", "/?lang=fr", "/signers?lang=fr", "/embed"):
        page = _page(client, path, headers=FRENCH_BROWSER)
        assert '<html lang="en">' in page, path
    page = _page(client, "/?lang=fr", headers=FRENCH_BROWSER)
    assert "Ban police use of facial recognition" in page and "Sign the petition" in page


@pytest.mark.parametrize("fixture", ["english_app", "french_app"])
def test_one_language_pages_have_no_switch_and_no_alternate(request, fixture):
    client = request.getfixturevalue(fixture).test_client()
    for path in ("/", "/signers", "/check-inbox", "/thanks", "/embed"):
        page = _page(client, path)
        assert "hreflang" not in page, path
        assert "?lang=" not in page, path
        assert "English</a>" not in page and "Français</a>" not in page, path
        assert "og:locale:alternate" not in page, path


def test_a_two_language_campaign_keeps_its_switch_and_alternates(client):
    page = _page(client, "/")
    assert 'hreflang="fr" lang="fr">Français</a>' in page
    assert '<link rel="alternate" hreflang="en"' in page and '<link rel="alternate" hreflang="fr"' in page
    assert 'property="og:locale:alternate" content="fr_CA"' in page


def test_organizer_pages_keep_both_languages_and_the_switch(french_app):
    add_organizer(french_app)
    client = french_app.test_client()
    page = _page(client, "/admin/login", headers=ENGLISH_BROWSER)
    assert '<html lang="en">' in page and "Log in" in page
    assert 'hreflang="fr" lang="fr">Français</a>' in page
    assert log_in(client).status_code == 303
    assert '<html lang="fr">' in _page(client, "/admin/?lang=fr")
    # The organizer's English choice does not reach the public pages of a French campaign.
    assert '<html lang="en">' in _page(client, "/admin/?lang=en")
    assert '<html lang="fr">' in _page(client, "/")


# --- errors ----------------------------------------------------------------------------------


def test_a_french_only_campaign_shows_its_errors_in_french(make_app):
    app = make_app(CAMPAIGN_FILE=str(FRENCH_ONLY), RATELIMIT_SIGN="2 per minute")
    client = app.test_client()
    missing = client.get("/nowhere?lang=en", headers=ENGLISH_BROWSER)
    assert missing.status_code == 404
    assert "Page introuvable" in missing.get_data(as_text=True)
    refused = sign(client, "/?lang=en", email="not-an-address")
    assert refused.status_code == 422
    assert "Entrez une adresse courriel comme nom@example.com." in refused.get_data(as_text=True)
    assert sign(client, "/?lang=en", email="one@example.ca").status_code == 303
    limited = client.post("/sign?lang=en", headers=ENGLISH_BROWSER, data={"csrf_token": csrf_token(client)})
    assert limited.status_code == 429
    page = limited.get_data(as_text=True)
    assert '<html lang="fr">' in page and "Trop de tentatives" in page


def test_an_english_only_campaign_shows_its_errors_in_english(english_app):
    client = english_app.test_client()
    missing = client.get("/nowhere?lang=fr", headers=FRENCH_BROWSER)
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    refused = sign(client, "/?lang=fr", email="not-an-address")
    assert refused.status_code == 422
    assert "Enter an email address like name@example.com." in refused.get_data(as_text=True)


# --- emails ----------------------------------------------------------------------------------


def test_a_french_only_campaign_mails_in_french_to_an_english_browser(french_app, smtp):
    client = french_app.test_client()
    assert sign(client, "/?lang=en", email="kate@example.ca").status_code == 303
    assert signature_rows(french_app)[0].language == "fr"
    deliver(french_app)
    message = smtp.messages[-1]
    assert message["Content-Language"] == "fr"
    assert message["Subject"].startswith("Veuillez confirmer votre signature\N{NO-BREAK SPACE}: Interdire")
    assert "Coalition Visages sans fichiers" in message["From"]
    assert "Interdire la reconnaissance faciale" in text_part(message)
    assert '<html lang="fr">' in html_part(message)
    press_button(client, link_in(message, "/confirm/"))
    sign(client, "/?lang=en", email="kate@example.ca")
    deliver(french_app)
    assert smtp.messages[-1]["Subject"].startswith("Vous avez déjà signé\N{NO-BREAK SPACE}: Interdire")


def test_a_stored_language_the_campaign_no_longer_has_falls_back_to_its_first(english_app):
    # Signed in French while the campaign was in both languages; the file now has English only.
    signature = make_signature(english_app, language="fr", confirmed_at=None)
    with english_app.app_context():
        message = render_email(CONFIRMATION, signature)
    assert message.extra_headers["Content-Language"] == "en"
    assert message.subject.startswith("Please confirm your signature: Ban police use")
    assert "Ban police use" in message.body and '<html lang="en">' in message.html


def test_a_bilingual_file_with_french_first_defaults_to_french(make_app, tmp_path):
    client = make_app(CAMPAIGN_FILE=str(_french_first(tmp_path))).test_client()
    assert '<html lang="fr">' in _page(client, "/", headers={"Accept-Language": "de"})
    assert '<html lang="en">' in _page(client, "/", headers=ENGLISH_BROWSER)
    english_page = _page(client, "/?lang=en")
    assert 'hreflang="fr" lang="fr">Français</a>' in english_page
    assert '<link rel="canonical" href="https://petition.test/?lang=en">' in english_page
    assert '<link rel="canonical" href="https://petition.test/">' in _page(client, "/?lang=fr")


def test_demo_signers_use_only_the_campaigns_language(make_app):
    app = make_app(DEVELOPMENT=True, CAMPAIGN_FILE=str(FRENCH_ONLY))
    assert (
        "Added 60 demo signatures."
        in app.test_cli_runner().invoke(args=["demo", "seed", "--count", "60"]).output
    )
    assert {row.language for row in signature_rows(app)} == {"fr"}
