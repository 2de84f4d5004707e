"""Start-up settings: production refuses to run without its secrets; development needs none."""

import pytest

from app import create_app
from app.config import ConfigError, load_config
from helpers import TEST_SECRET_KEY


def test_production_refuses_to_start_without_secret_key_and_public_url(monkeypatch, tmp_path):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    with pytest.raises(ConfigError) as error:
        create_app()
    message = str(error.value)
    assert "SECRET_KEY" in message and "PUBLIC_URL" in message
    assert "FLASK_DEBUG=1" in message


def test_production_names_only_what_is_missing(monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    with pytest.raises(ConfigError, match="needs PUBLIC_URL[.]") as error:
        create_app()
    assert TEST_SECRET_KEY not in str(error.value)


@pytest.mark.parametrize("key", ["a", "s3cret", "x" * 31])
def test_production_refuses_a_short_secret_key_without_repeating_it(monkeypatch, key):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.setenv("PUBLIC_URL", "https://petition.example.org")
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32 characters") as error:
        create_app()
    assert "secrets.token_hex(32)" in str(error.value)
    assert f"{key!r}" not in str(error.value) and f" {key} " not in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "petition.example.org",
        "ftp://petition.example.org",
        "https://",
        "https:///path",
        "https://petition.example.org/?ref=1",
        "https://petition.example.org/#top",
        "https://user:pw@petition.example.org",
        "https://petition example.org",
        "https://petition.example.org:99999",
        "javascript:alert(1)",
    ],
)
def test_production_refuses_a_public_url_that_is_not_an_http_address(monkeypatch, url):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("PUBLIC_URL", url)
    with pytest.raises(ConfigError, match="PUBLIC_URL must be") as error:
        create_app()
    assert "https://petition.example.org" in str(error.value), "the message shows what to set"


@pytest.mark.parametrize(
    "url, kept",
    [
        ("https://petition.example.org/", "https://petition.example.org"),
        ("https://example.org/petition/", "https://example.org/petition"),
        ("http://10.0.0.5:8000", "http://10.0.0.5:8000"),
    ],
)
def test_production_accepts_http_addresses_with_a_path_prefix(monkeypatch, url, kept):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("PUBLIC_URL", url)
    assert create_app().config["PUBLIC_URL"] == kept


def test_development_generates_a_secret_key_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    first = load_config(str(tmp_path))
    second = load_config(str(tmp_path))
    assert len(first["SECRET_KEY"]) == 64
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["PUBLIC_URL"] == "http://127.0.0.1:5000"
    assert first["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_environment_variables_of_the_contract_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DEBUG", "0")
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "old-one, older-one")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/petition")
    monkeypatch.setenv("PUBLIC_URL", "https://petition.example.org/")
    monkeypatch.setenv("CONFIRM_MAX_AGE", "3600")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    monkeypatch.setenv("RATELIMIT_ENABLED", "0")
    config = load_config(str(tmp_path))
    assert config["SECRET_KEY_FALLBACKS"] == ["old-one", "older-one"]
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/petition"
    assert config["PUBLIC_URL"] == "https://petition.example.org"
    assert config["CONFIRM_MAX_AGE"] == 3600
    assert config["TRUSTED_PROXIES"] == 1
    assert config["RATELIMIT_ENABLED"] is False
    assert config["SESSION_COOKIE_SECURE"] is True, "the public address is HTTPS"
    monkeypatch.setenv("PUBLIC_URL", "http://10.0.0.5:8000")
    assert load_config(str(tmp_path))["SESSION_COOKIE_SECURE"] is False


def test_a_malformed_number_is_reported_by_name(monkeypatch, tmp_path):
    monkeypatch.setenv("CONFIRM_MAX_AGE", "a week")
    with pytest.raises(ConfigError, match="CONFIRM_MAX_AGE must be a whole number"):
        load_config(str(tmp_path))


@pytest.mark.parametrize(
    "recipient", ["Rehearsal <rehearsal@example.org>", "a@example.org, b@example.org", "rehearsal"]
)
def test_a_letter_test_recipient_must_be_one_address(monkeypatch, recipient):
    """Else every rehearsal letter would be refused by the mail server, or go who knows where."""
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("LETTER_TEST_RECIPIENT", recipient)
    with pytest.raises(ConfigError, match="LETTER_TEST_RECIPIENT must be one email address"):
        create_app()


@pytest.mark.parametrize("value", ["31", "129", "0", "sixty-four"])
def test_an_ipv6_prefix_outside_32_to_128_is_refused_by_name(monkeypatch, tmp_path, value):
    monkeypatch.setenv("RATELIMIT_IPV6_PREFIX", value)
    with pytest.raises(ConfigError, match="RATELIMIT_IPV6_PREFIX must be"):
        load_config(str(tmp_path))


def test_the_ipv6_prefix_is_64_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv("RATELIMIT_IPV6_PREFIX", raising=False)
    assert load_config(str(tmp_path))["RATELIMIT_IPV6_PREFIX"] == 64
    monkeypatch.setenv("RATELIMIT_IPV6_PREFIX", "56")
    assert load_config(str(tmp_path))["RATELIMIT_IPV6_PREFIX"] == 56
