"""Signed links: one salt per purpose, old keys still verify during a rotation."""

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

CONFIRM = "confirm-signature"
WITHDRAW = "withdraw-signature"
MANAGE = "manage-signature"


class InvalidToken(Exception):
    """The link was tampered with, made for another purpose, or is malformed."""


class ExpiredToken(InvalidToken):
    """The link was genuine but is too old."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts all of them.
    keys = [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=purpose)


def make_token(purpose: str, signature_id: int) -> str:
    """A URL-safe token naming one signature for one purpose."""
    return _serializer(purpose).dumps(signature_id)


def read_token(purpose: str, token: str, max_age: int) -> int:
    """The signature id inside a token; raise ExpiredToken or InvalidToken."""
    try:
        value = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ExpiredToken() from None
    except BadSignature:
        raise InvalidToken() from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidToken()
    return value
