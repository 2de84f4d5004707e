"""Unbound Flask extensions, bound to the app in the factory."""

import hashlib
import ipaddress
import threading

from flask import current_app, g, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits.storage import MemoryStorage
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model."""


def keyed_hash(value: str, digest_size: int = 12) -> str:
    """A value hashed with the secret key, for keys and lookups that must not hold the value itself."""
    return hashlib.blake2s(
        value.encode(), key=current_app.config["SECRET_KEY"].encode()[:32], digest_size=digest_size
    ).hexdigest()


def client_network(address: str, ipv6_prefix: int) -> str:
    """The network a client is counted by: an IPv4 address itself, an IPv6 address's
    `ipv6_prefix` network (one subscriber gets a whole /64 to pick addresses from), and an
    IPv4-mapped IPv6 address (::ffff:192.0.2.1) as its IPv4. Anything else as it is."""
    try:
        parsed = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address or "unknown"
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, ipv6_prefix), strict=False))
    return str(parsed)


def client_key() -> str:
    """The client's network (see client_network), hashed with the secret key: limits need a
    key, not the raw IP. Every limit keyed by client goes through here."""
    network = client_network(request.remote_addr or "", current_app.config["RATELIMIT_IPV6_PREFIX"])
    return keyed_hash(network)


def campaign_client_key() -> str:
    """client_key within the request's campaign: a signer's limits at one campaign leave their
    limits at the others alone (a school signing three campaigns is not one flood)."""
    campaign = g.get("campaign")
    return f"{client_key()}:{campaign.id if campaign is not None else 0}"


def configured_limit(name: str):
    """A rate limit read from the configuration at request time, so operators and tests set it."""
    return lambda: current_app.config[name]


class ThreadSafeMemoryStorage(MemoryStorage):
    """`memory://` (the limiter's storage without Redis) made safe for a threaded worker.

    limits 5.8's MemoryStorage restarts its expiry timer without a lock: two requests at once
    can start the same timer twice, and a request fails with "threads can only be started
    once" (or the timer thread with a KeyError). Fixed upstream (alisaifee/limits#352), not
    yet released; defined here, this class takes over the `memory` scheme.
    """

    STORAGE_SCHEME = ["memory"]

    def __init__(self, *args, **kwargs):
        self._expiry_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _MemoryStorage__schedule_expiry(self) -> None:  # the name MemoryStorage calls it by
        with self._expiry_lock:
            if not self.timer.is_alive():
                self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)
                self.timer.start()


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=client_key, key_prefix="petition")
login_manager = LoginManager()
mail = Mail()
