"""Configuration from the environment: development, production and test settings."""

import os
import secrets
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from .addresses import normalize_email

ROOT = Path(__file__).resolve().parent.parent
DEMO_CAMPAIGN = ROOT / "campaigns" / "demo.toml"
# Anyone who guesses the key can forge sessions and every link; 32 characters of
# token_hex(32) output carry 128 bits.
MIN_SECRET_KEY_LENGTH = 32
MAKE_SECRET_KEY = "`python3 -c 'import secrets; print(secrets.token_hex(32))'`"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable deployment."""


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}.") from None


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 60:
        raise ConfigError(f"{name} must be a number of seconds above 0 and below 60, got {value!r}.")
    return seconds


def _ipv6_prefix(name: str, default: int) -> int:
    value = _int(name, default)
    if not 32 <= value <= 128:
        raise ConfigError(
            f"{name} must be an IPv6 prefix length from 32 to 128 (64, the default, counts one "
            f"subscriber's /64 as one client; 128 counts each address), got {value}."
        )
    return value


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _development_secret_key(instance_path: Path) -> str:
    """Generate a key once and keep it in instance/, so sessions survive restarts."""
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def campaign_file() -> str:
    """The campaign file CAMPAIGN_FILE names, or the demo petition when it is unset; "" for
    `none`: the campaigns are those in the database (`campaign import`)."""
    value = os.environ.get("CAMPAIGN_FILE", "").strip()
    if value.lower() == "none":
        return ""
    return value or str(DEMO_CAMPAIGN)


def load_config(instance_path: str) -> dict:
    """Read the contract's environment variables into Flask settings."""
    instance = Path(instance_path)
    development = os.environ.get("FLASK_DEBUG", "").strip() in {"1", "true", "True"}
    secret_key = os.environ.get("SECRET_KEY", "").strip()
    public_url = os.environ.get("PUBLIC_URL", "").strip()

    if development and not secret_key:
        secret_key = _development_secret_key(instance)

    return {
        "DEVELOPMENT": development,
        "SECRET_KEY": secret_key,
        "SECRET_KEY_FALLBACKS": _list("SECRET_KEY_FALLBACKS"),
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL", ""), instance),
        "PUBLIC_URL": (public_url or ("http://127.0.0.1:5000" if development else "")).rstrip("/"),
        "CAMPAIGN_FILE": campaign_file(),
        "CONFIRM_MAX_AGE": _int("CONFIRM_MAX_AGE", 7 * 24 * 3600),
        # Manage-my-signature links keep working for months (not part of the contract).
        "MANAGE_MAX_AGE": _int("MANAGE_MAX_AGE", 400 * 24 * 3600),
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://",
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        # IPv6 clients are counted by network: one home or phone gets a /64 of its own.
        "RATELIMIT_IPV6_PREFIX": _ipv6_prefix("RATELIMIT_IPV6_PREFIX", 64),
        # Per client address. Generous for signing: a rally on one Wi-Fi shares an address.
        "RATELIMIT_SIGN": os.environ.get("RATELIMIT_SIGN", "20 per minute;300 per hour"),
        "RATELIMIT_RESEND": os.environ.get("RATELIMIT_RESEND", "5 per minute;30 per hour"),
        "RATELIMIT_CONFIRM": os.environ.get("RATELIMIT_CONFIRM", "30 per minute"),
        "RATELIMIT_LOGIN": os.environ.get("RATELIMIT_LOGIN", "30 per minute"),
        # Retry-After is set by the 429 handler alone; the X-RateLimit-* headers would tell
        # every visitor how the limits are tuned.
        "RATELIMIT_HEADERS_ENABLED": False,
        # Redis down: count in this process's memory meanwhile, never fail or stall a request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "").strip() or None,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "").strip() or None,
        # TLS to the mail server is verified; a private relay's certificate authority, in PEM.
        "MAIL_CA_FILE": os.environ.get("MAIL_CA_FILE", "").strip() or None,
        # The name the deliverer gives in EHLO; PUBLIC_URL's host when unset.
        "MAIL_EHLO_NAME": os.environ.get("MAIL_EHLO_NAME", "").strip() or None,
        # Letters to representatives: an address that gets every letter instead, for rehearsals.
        "LETTER_TEST_RECIPIENT": os.environ.get("LETTER_TEST_RECIPIENT", "").strip() or None,
        # Not part of the public contract: operational knobs with safe defaults.
        "MAIL_IN_WEB": _flag("MAIL_IN_WEB", True),
        # Werkzeug's method for organizers' passwords: scrypt, deliberately slow (the tests
        # pick a fast one: they log in hundreds of times).
        "PASSWORD_HASH_METHOD": "scrypt",
        "DOMAIN_BURST_THRESHOLD": _int("DOMAIN_BURST_THRESHOLD", 30),
        "DATABASE_LOCK_TIMEOUT_MS": _int("DATABASE_LOCK_TIMEOUT_MS", 5000),
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 10),
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 8),
        # Letters to representatives: at most this many a day to each one, per campaign; the
        # rest wait for the next day (mail/ceiling.py).
        "LETTERS_PER_REPRESENTATIVE_DAILY": _int("LETTERS_PER_REPRESENTATIVE_DAILY", 500),
        # An open letter's PDF (kinds/open_letter/pdfs.py): built once the list has been still
        # this many seconds, or this long after the last build at most; each build bounded.
        "LETTER_PDF_QUIET": _int("LETTER_PDF_QUIET", 10),
        "LETTER_PDF_MAX_STALE": _int("LETTER_PDF_MAX_STALE", 120),
        "LETTER_PDF_BUILD_TIMEOUT": _int("LETTER_PDF_BUILD_TIMEOUT", 600),
        "LETTER_PDF_MEMORY_MB": _int("LETTER_PDF_MEMORY_MB", 2048),
        # Seconds a deliverer holds a batch unrenewed: after that, if it died, another takes it.
        "MAIL_LEASE": _int("MAIL_LEASE", 30),
        # Letters to representatives: Open North's Represent API, when set (the CSV alone if not).
        "REPRESENT_URL": os.environ.get("REPRESENT_URL", "").strip(),
        "REPRESENT_TIMEOUT": _seconds("REPRESENT_TIMEOUT", 1.5),
        # Secure cookies whenever the public address is HTTPS (every real deployment); a
        # Secure cookie on a plain-HTTP site would never come back and break every form.
        "SESSION_COOKIE_SECURE": (public_url or "").startswith("https://"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        # Every validator carries its own translated message, so WTForms' catalogue (which
        # Flask-WTF would load again on every request with a form) is not needed.
        "WTF_I18N_ENABLED": False,
    }


def check_config(config: dict) -> None:
    """Refuse to run in production without the settings every link and signature depend on,
    or with a guessable key or a base for links that is not a web address."""
    _check_letter_test_recipient(config)
    if config["LETTERS_PER_REPRESENTATIVE_DAILY"] < 1:
        raise ConfigError(
            "LETTERS_PER_REPRESENTATIVE_DAILY must be 1 or more: how many letters each "
            "representative may get in a day, the rest waiting for the next."
        )
    _check_mail_ca_file(config)
    if config["DEVELOPMENT"]:
        return
    missing = [name for name in ("SECRET_KEY", "PUBLIC_URL") if not config.get(name)]
    if missing:
        raise ConfigError(
            "Production start-up needs " + " and ".join(missing) + ". "
            f"Set SECRET_KEY to a long random string (for example the output of {MAKE_SECRET_KEY}) "
            "and PUBLIC_URL to the address signers use, such as https://petition.example.org. "
            "For local development set FLASK_DEBUG=1 instead (make run does)."
        )
    if len(config["SECRET_KEY"]) < MIN_SECRET_KEY_LENGTH:
        # The message never repeats the key: start-up errors end up in shared logs.
        raise ConfigError(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters long and random; "
            f"the one set is shorter. Set it to the output of {MAKE_SECRET_KEY}."
        )
    problem = public_url_problem(config["PUBLIC_URL"])
    if problem:
        raise ConfigError(
            f"PUBLIC_URL must be {problem}: the scheme and host signers use, with an optional "
            "path prefix, such as https://petition.example.org or https://example.org/petition."
        )


def _check_letter_test_recipient(config: dict) -> None:
    """One plain address (a rehearsal's letters all go there), stored in its normalised form."""
    recipient = config.get("LETTER_TEST_RECIPIENT")
    if not recipient:
        return
    try:
        config["LETTER_TEST_RECIPIENT"] = normalize_email(recipient)
    except ValueError:
        raise ConfigError(
            "LETTER_TEST_RECIPIENT must be one email address, like rehearsal@example.org, "
            "without a name or a second address."
        ) from None


def _check_mail_ca_file(config: dict) -> None:
    """A CA file that cannot be read would only show when the first email waits for ever."""
    ca_file = config.get("MAIL_CA_FILE")
    if not ca_file:
        return
    try:
        ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(
            f"MAIL_CA_FILE must name a readable file of PEM certificates (the mail server's "
            f"certificate authority); {ca_file!r} cannot be used: {error.strerror or error}."
        ) from None


def public_url_problem(url: str) -> str | None:
    """What is wrong with a base URL for links in emails, or None when it will do."""
    if any(character.isspace() or not character.isprintable() for character in url):
        return "one address without spaces"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "an http:// or https:// address with a host name"
    if parts.username is not None or parts.password is not None:
        return "an address without a user name or password"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "an address without a query (?) or fragment (#)"
    try:
        _port = parts.port  # urlsplit checks the port only when asked for it
    except ValueError:
        return "an address with a valid port number"
    return None


def limiter_storage_options(uri: str) -> dict:
    """Short Redis timeouts: a stalled Redis must not hold a signer's request."""
    if uri.startswith(("redis://", "rediss://", "redis+")):
        return {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    return {}


def database_url(url: str, instance: Path) -> str:
    """A SQLAlchemy URL from DATABASE_URL's form: SQLite in the instance folder when blank."""
    url = url.strip()
    if not url:
        return f"sqlite:///{instance / 'petition.db'}"
    # Heroku-style platforms still hand out postgres:// URLs; psycopg 3 needs its own scheme.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
