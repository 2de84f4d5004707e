"""Why people sign: public signers' comments, shown once an organizer approves them."""

from dataclasses import dataclass

from sqlalchemy import select, update

from .audit import APPROVE_REASON, REJECT_REASON, record_event
from .campaign import current_campaign
from .database import write_transaction
from .extensions import db
from .models import Signature, utcnow


@dataclass(frozen=True)
class Reason:
    """One signer's reason, as the public pages and the review queue show it."""

    signature_id: int
    name: str
    comment: str


def _reviewable():
    """Confirmed signers who chose the public list and wrote a comment: the only ones that may show."""
    return (
        Signature.campaign_id == current_campaign().id,
        Signature.confirmed,
        Signature.public.is_(True),
        Signature.comment != "",
    )


def _reasons(*conditions, order, limit: int) -> list[Reason]:
    rows = db.session.execute(
        select(Signature.id, Signature.name, Signature.comment)
        .where(*_reviewable(), *conditions)
        .order_by(order, Signature.id)
        .limit(limit)
    ).all()
    return [Reason(*row) for row in rows]


def public_reasons(limit: int = 20) -> list[Reason]:
    """Approved reasons, newest approval first."""
    return _reasons(
        Signature.comment_approved_at.is_not(None),
        Signature.comment_rejected_at.is_(None),
        order=Signature.comment_approved_at.desc(),
        limit=limit,
    )


def reasons_to_review(limit: int = 50) -> list[Reason]:
    """Reasons no organizer has approved or rejected yet, oldest confirmation first."""
    return _reasons(
        Signature.comment_approved_at.is_(None),
        Signature.comment_rejected_at.is_(None),
        order=Signature.confirmed_at,
        limit=limit,
    )


def _review(signature_id: int, actor: str, approve: bool) -> bool:
    now = utcnow()
    with write_transaction():
        reviewed = (
            db.session.execute(
                update(Signature)
                .where(Signature.id == signature_id, *_reviewable())
                .values(
                    comment_approved_at=now if approve else None,
                    comment_rejected_at=None if approve else now,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )
        if reviewed:
            action = APPROVE_REASON if approve else REJECT_REASON
            record_event(actor, action, "reason for signing", rows=1)
    return reviewed


def approve_reason(signature_id: int, actor: str) -> bool:
    """Show a signer's reason on the public pages; False if it cannot be shown (no such public comment)."""
    return _review(signature_id, actor, approve=True)


def reject_reason(signature_id: int, actor: str) -> bool:
    """Keep a signer's reason off the public pages for good (the signature stays counted)."""
    return _review(signature_id, actor, approve=False)
