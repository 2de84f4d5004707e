"""The signing service: sign, resend, confirm, withdraw and list; it owns the transactions."""

import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .counter import add_to_count, forget_count
from .database import write_transaction
from .emails import ALREADY_SIGNED, CONFIRMATION
from .extensions import db
from .mail import queue_email, wake_deliverer
from .models import ConsentWording, Signature, utcnow
from .tokens import CONFIRM, WITHDRAW, InvalidToken, read_token


class UnknownSignature(InvalidToken):
    """The link was genuine, but its signature is gone (withdrawn or erased)."""


@dataclass(frozen=True)
class NewSignature:
    """A validated, normalised sign form."""

    name: str
    email: str
    postal_code: str
    country: str
    comment: str
    public: bool
    updates: bool
    language: str
    source: str
    consent_text: str


def consent_version(text: str) -> str:
    """A short, stable name for one exact consent wording."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _record_consent(text: str, language: str) -> str:
    version = consent_version(text)
    if db.session.get(ConsentWording, version) is None:
        db.session.add(ConsentWording(version=version, language=language, text=text))
        db.session.flush()
    return version


def _remind(signature: Signature) -> None:
    queue_email(signature, ALREADY_SIGNED if signature.confirmed else CONFIRMATION)


def _sign_once(data: NewSignature) -> None:
    existing = db.session.scalar(select(Signature).where(Signature.email == data.email))
    if existing is not None:
        _remind(existing)
        return
    now = utcnow()
    signature = Signature(
        name=data.name, email=data.email, postal_code=data.postal_code, country=data.country,
        comment=data.comment, public=data.public, updates=data.updates, language=data.language,
        source=data.source, signed_at=now,
    )
    if data.updates:
        signature.updates_consented_at = now
        signature.consent_version = _record_consent(data.consent_text, data.language)
    db.session.add(signature)
    db.session.flush()
    queue_email(signature, CONFIRMATION)


def sign(data: NewSignature) -> None:
    """Record a signature with its confirmation email, or remind an address that already signed.

    The caller learns nothing about which happened: the signer's page must read
    the same either way.
    """
    for attempt in (1, 2):
        try:
            with write_transaction():
                _sign_once(data)
            break
        except IntegrityError:
            # Another request stored the same address (or consent wording) between
            # our read and our write; the second pass sees it and takes the other branch.
            if attempt == 2:
                raise
    wake_deliverer()


def resend(email: str) -> None:
    """Send the link again to a pending address (or an already-signed note); silent otherwise."""
    with write_transaction():
        signature = db.session.scalar(select(Signature).where(Signature.email == email))
        if signature is not None:
            _remind(signature)
    wake_deliverer()


def signature_for_link(purpose: str, token: str) -> Signature:
    """The signature a link is for; raise ExpiredToken, InvalidToken or UnknownSignature."""
    signature_id = read_token(purpose, token, current_app.config["CONFIRM_MAX_AGE"])
    signature = db.session.get(Signature, signature_id)
    if signature is None:
        raise UnknownSignature()
    return signature


def confirm(token: str) -> bool:
    """Count the link's signature; True if this call counted it, False if it already was."""
    signature_id = read_token(CONFIRM, token, current_app.config["CONFIRM_MAX_AGE"])
    with write_transaction():
        counted = db.session.execute(
            update(Signature)
            .where(Signature.id == signature_id, Signature.confirmed_at.is_(None))
            .values(confirmed_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if counted:
            add_to_count(+1)
        elif db.session.get(Signature, signature_id) is None:
            raise UnknownSignature()
    if counted:
        forget_count()
    return counted


def withdraw(token: str) -> bool:
    """Delete a pending signature through its "this wasn't me" link; False if already confirmed."""
    signature_id = read_token(WITHDRAW, token, current_app.config["CONFIRM_MAX_AGE"])
    with write_transaction():
        deleted = db.session.execute(
            delete(Signature).where(Signature.id == signature_id, Signature.confirmed_at.is_(None))
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if not deleted and db.session.get(Signature, signature_id) is None:
            raise UnknownSignature()
    return deleted


@dataclass(frozen=True)
class SignerPage:
    """One page of the public list of signers."""

    signers: list[tuple[str, str, str]]
    page: int
    has_next: bool


def public_signers(page: int, per_page: int = 50) -> SignerPage:
    """Confirmed signers who chose to be listed, newest first: (name, postal code, country)."""
    rows = db.session.execute(
        select(Signature.name, Signature.postal_code, Signature.country)
        .where(Signature.public.is_(True), Signature.confirmed_at.is_not(None))
        .order_by(Signature.confirmed_at.desc(), Signature.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return SignerPage(signers=[tuple(row) for row in rows[:per_page]], page=page,
                      has_next=len(rows) > per_page)
