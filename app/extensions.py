"""Unbound Flask extensions, bound to the app in the factory."""

import hashlib

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model."""


def keyed_hash(value: str, digest_size: int = 12) -> str:
    """A value hashed with the secret key, for keys and lookups that must not hold the value itself."""
    return hashlib.blake2s(
        value.encode(), key=current_app.config["SECRET_KEY"].encode()[:32], digest_size=digest_size
    ).hexdigest()


def client_key() -> str:
    """The client's address, hashed with the secret key: limits need a key, not the raw IP."""
    return keyed_hash(request.remote_addr or "unknown")


def configured_limit(name: str):
    """A rate limit read from the configuration at request time, so operators and tests set it."""
    return lambda: current_app.config[name]


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=client_key, key_prefix="petition")
login_manager = LoginManager()
mail = Mail()
