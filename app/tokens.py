"""Tokens: each purpose's salt and lifetime in one table; signed links verify with old keys too."""

from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

CONFIRM = "confirm-signature"
WITHDRAW = "withdraw-signature"
MANAGE = "manage-signature"
DEVICE = "organizer-device"
# A letter's step 2: the representatives the server offered for a postal code, so that any
# worker takes the form back without asking Represent again.
OFFERED_TARGETS = "letter-offered-targets"


class Policy(NamedTuple):
    """How one purpose's tokens are made and how long they last."""

    # What a signed link is signed with; None for a random token kept only as a keyed hash.
    salt: str | None
    # The setting that holds it (seconds, so operators can change it), or a fixed time.
    lifetime: str | timedelta


POLICIES = {
    CONFIRM: Policy(salt=CONFIRM, lifetime="CONFIRM_MAX_AGE"),
    # "This wasn't me" comes in the same email as the confirmation link and lasts as long.
    WITHDRAW: Policy(salt=WITHDRAW, lifetime="CONFIRM_MAX_AGE"),
    MANAGE: Policy(salt=MANAGE, lifetime="MANAGE_MAX_AGE"),
    # How long a browser stays known after an organizer's login; logging out forgets it at once.
    DEVICE: Policy(salt=None, lifetime=timedelta(days=90)),
    # Long enough to write a letter; after it the representatives are looked up again.
    OFFERED_TARGETS: Policy(salt=OFFERED_TARGETS, lifetime=timedelta(hours=2)),
}


class InvalidToken(Exception):
    """The link was tampered with, made for another purpose, or is malformed."""


class ExpiredToken(InvalidToken):
    """The link was genuine but is too old."""


def token_lifetime(purpose: str) -> timedelta:
    """How long a token made for this purpose stays valid."""
    lifetime = POLICIES[purpose].lifetime
    if isinstance(lifetime, str):
        return timedelta(seconds=current_app.config[lifetime])
    return lifetime


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    salt = POLICIES[purpose].salt
    if salt is None:
        raise ValueError(f"{purpose} tokens are random, not signed")
    config = current_app.config
    # itsdangerous signs with the last key and accepts all of them.
    keys = [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=salt)


def make_token(purpose: str, value: object) -> str:
    """A URL-safe token holding one value (a signature's id, mostly) for one purpose."""
    return _serializer(purpose).dumps(value)


def read_value(purpose: str, token: str) -> object:
    """The value inside a token within its purpose's lifetime; raise ExpiredToken or InvalidToken."""
    max_age = int(token_lifetime(purpose).total_seconds())
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ExpiredToken() from None
    except BadSignature:
        raise InvalidToken() from None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_token(purpose: str, token: str) -> int:
    """The signature id inside a token within its purpose's lifetime; raise ExpiredToken or InvalidToken."""
    signature_id, _ = read_link(purpose, token)
    return signature_id


def link_value(signature_id: int, submission_id: int | None = None) -> int | list[int]:
    """What a confirmation or withdrawal link holds: the signature's id, and a later
    submission's (models.Submission) when the link is for that one."""
    return signature_id if submission_id is None else [signature_id, submission_id]


def read_link(purpose: str, token: str) -> tuple[int, int | None]:
    """The signature id and submission id (None for the signature's own answers) inside a
    token; raise ExpiredToken or InvalidToken."""
    value = read_value(purpose, token)
    if _is_id(value):
        return value, None
    if isinstance(value, list) and len(value) == 2 and all(map(_is_id, value)):
        return value[0], value[1]
    raise InvalidToken()
