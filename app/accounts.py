"""Organizer accounts: create them, check passwords, throttle guessing, know their devices, end sessions."""

import logging
import secrets
import time
from dataclasses import dataclass
from functools import cache

from flask import current_app
from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from .addresses import normalize_email
from .database import write_transaction
from .extensions import db, keyed_hash, limiter
from .models import Organizer, OrganizerDevice, utcnow
from .tokens import DEVICE, token_lifetime

MIN_PASSWORD_LENGTH = 12
# Attempts, counted before the password is checked (a right one too: the organizer's own
# browser has its device limit). Per address: a person mistypes a few times; a script tries thousands.
FAILURES_PER_CLIENT = RateLimitItemPerMinute(10)
# Per account, from browsers that have never logged in as it. An attacker can use
# this up, but the organizer's own browser (with its device cookie) is counted apart.
FAILURES_PER_ACCOUNT = RateLimitItemPerHour(20)
FAILURES_PER_DEVICE = RateLimitItemPerHour(20)
# Counts failures in this process while the shared storage (Redis) cannot be reached.
_FALLBACK = MovingWindowRateLimiter(MemoryStorage())
log = logging.getLogger(__name__)


class AccountError(ValueError):
    """The organizer cannot be created as asked."""


@dataclass(frozen=True)
class Throttled(Exception):
    """Too many failed logins; try again after `retry_after` seconds."""

    retry_after: int


def create_organizer(email: str, password: str) -> Organizer:
    """Add an organizer with a hashed password."""
    try:
        email = normalize_email(email)
    except ValueError as error:
        raise AccountError(f"not an email address: {error}") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    with write_transaction():
        if db.session.scalar(select(Organizer.id).where(Organizer.email == email)) is not None:
            raise AccountError(f"an organizer with the address {email} exists already")
        organizer = Organizer(email=email, password_hash=_hash(password), session_token=secrets.token_hex(16))
        db.session.add(organizer)
    return organizer


def _method() -> str:
    return current_app.config["PASSWORD_HASH_METHOD"]


def _hash(password: str) -> str:
    return generate_password_hash(password, method=_method())


@cache
def _dummy_hash(method: str) -> str:
    """Checked when no account has the address, so that a login takes as long either way."""
    return generate_password_hash("not a real password", method=method)


def load_organizer(session_id: str) -> Organizer | None:
    """Flask-Login's user loader: the id is 'organizer id:session token'."""
    organizer_id, _, token = session_id.partition(":")
    if not (organizer_id.isascii() and organizer_id.isdigit()) or not token:
        return None
    organizer = db.session.get(Organizer, int(organizer_id))
    if organizer is None or not secrets.compare_digest(organizer.session_token, token):
        return None
    return organizer


def _limits(email: str, client: str, device_for: int | None, organizer_id: int | None):
    """The throttles this attempt counts against; keys hold hashes, never an address typed in."""
    keys = [(FAILURES_PER_CLIENT, "login-client", client)]
    if organizer_id is not None and device_for == organizer_id:
        keys.append((FAILURES_PER_DEVICE, "login-device", f"{organizer_id}:{client}"))
    else:
        keys.append((FAILURES_PER_ACCOUNT, "login-account", keyed_hash(email)))
    return keys


def authenticate(email: str, password: str, client: str, device_for: int | None) -> Organizer | None:
    """The organizer if the password is right; None if not; Throttled when guessing too fast.

    `device_for` is the organizer id this browser has logged in as before (see
    device_organizer); such a browser is not held back by failures from elsewhere.
    """
    try:
        email = normalize_email(email)
    except ValueError:
        # No account has a malformed address, and such a value (a NUL, say) may not even
        # be sent to PostgreSQL. It still costs a hash and counts as a failure below.
        email, organizer = "", None
    else:
        organizer = db.session.scalar(select(Organizer).where(Organizer.email == email))
    if current_app.config.get("RATELIMIT_ENABLED", True):
        _count_attempt(_limits(email, client, device_for, organizer.id if organizer else None))

    valid = check_password_hash(organizer.password_hash if organizer else _dummy_hash(_method()), password)
    if organizer is None or not valid:
        return None
    with write_transaction():
        organizer.last_login_at = utcnow()
        db.session.add(organizer)
    return organizer


def _with_storage(action):
    """Run `action(strategy)` on the shared limit storage, or on this process's memory when it is down."""
    try:
        return action(limiter.limiter)
    except (RedisError, StorageError) as error:
        log.warning("login throttle storage unreachable (%s): counting in memory", type(error).__name__)
        return action(_FALLBACK)


def _count_attempt(checks) -> None:
    """Count this attempt first, then refuse it if it went over: each count is one atomic
    increment (Redis INCR) that answers the new total, so sixty guesses sent at once get
    exactly as many tries as the limit allows, where checking before counting let them all
    read the same old total."""

    def count(strategy):
        over = [(item, *key) for item, *key in checks if not strategy.hit(item, *key)]
        if over:
            item, *key = over[0]
            reset_at, _remaining = strategy.get_window_stats(item, *key)
            # The limits library keeps its windows on the real clock, not the app's.
            raise Throttled(retry_after=max(1, int(reset_at - time.time()) + 1))

    _with_storage(count)


def _device_hash(token: str) -> str:
    return keyed_hash(token, digest_size=32)


def device_organizer(token: str | None) -> int | None:
    """The organizer a browser's device token was issued to; None if unknown, revoked or expired."""
    if not token:
        return None
    return db.session.scalar(
        select(OrganizerDevice.organizer_id).where(
            OrganizerDevice.token_hash == _device_hash(token), OrganizerDevice.expires_at > utcnow()
        )
    )


def remember_device(organizer: Organizer, token: str | None) -> str:
    """After a login: this browser's device token, kept if still valid for the organizer, else a new one."""
    if device_organizer(token) == organizer.id:
        return token
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction():
        db.session.execute(
            delete(OrganizerDevice).where(
                OrganizerDevice.organizer_id == organizer.id, OrganizerDevice.expires_at <= now
            )
        )
        db.session.add(
            OrganizerDevice(
                organizer_id=organizer.id,
                token_hash=_device_hash(token),
                created_at=now,
                expires_at=now + token_lifetime(DEVICE),
            )
        )
    return token


def end_sessions(organizer: Organizer) -> None:
    """Invalidate every session of this organizer, wherever its cookie went, and forget its devices."""
    with write_transaction():
        organizer.session_token = secrets.token_hex(16)
        db.session.add(organizer)
        db.session.execute(delete(OrganizerDevice).where(OrganizerDevice.organizer_id == organizer.id))
