"""Putting signatories on the open letter: an organizer's approval, or confirmation alone when
moderation is off. Listing moves the count and mails the signatory once."""

from enum import Enum

from sqlalchemy import select, update

from ...audit import APPROVE_SIGNATORY, REJECT_SIGNATORY, record_event
from ...campaign import current_campaign
from ...counter import add_to_count, forget_count
from ...database import write_transaction
from ...emails import LISTED
from ...extensions import db
from ...mail import queue_email, wake_deliverer
from ...models import Signature, utcnow
from ...signatures import erase_signature
from .listing import signatories, waiting
from .models import Signatory
from .vetting import unflagged

MAX_BULK = 200


class Verdict(Enum):
    """What became of one approval."""

    APPROVED = "approved"
    UNKNOWN = "unknown"  # no such signature (or anonymised): 404
    NOT_CONFIRMED = "not confirmed"  # its signer has not confirmed yet: 409
    ALREADY = "already"  # listed already, or taken off the list by its signer: 409


def list_signatories(ids: list[int]) -> list[int]:
    """Within the caller's transaction: list those of `ids` that are waiting; the ids listed."""
    if not ids:
        return []
    # The signatures first, locked in id order: a signer hiding or erasing theirs meanwhile
    # (which locks it too) is either done before, and it is not listed, or waits until after,
    # and it comes off the count again. Each statement then reads what is committed.
    db.session.execute(
        select(Signature.id).where(Signature.id.in_(ids)).order_by(Signature.id).with_for_update()
    )
    could_be = select(Signature.id).select_from(signatories()).where(Signature.id.in_(ids), waiting())
    listed = list(
        db.session.execute(
            update(Signatory)
            # On the updated row itself: a second approval waiting for this one's lock finds
            # it approved when it gets it, and lists no one twice.
            .where(Signatory.signature_id.in_(could_be), Signatory.approved_at.is_(None))
            .values(approved_at=utcnow())
            .returning(Signatory.signature_id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if listed:
        add_to_count(len(listed))
        for signature_id in listed:
            queue_email(signature_id, LISTED)
    return sorted(listed)


def approve_signatories(ids: list[int], actor: str) -> list[int]:
    """Put the waiting ones of `ids` on the letter, in one transaction; the ids listed."""
    return _approve(ids, actor, skip_flagged=False)[0]


def approve_unflagged(ids: list[int], actor: str) -> tuple[list[int], int]:
    """Put the waiting ones of `ids` on the letter but those a moderator should look at twice
    (vetting.py), in one transaction; the ids listed, and how many flagged ones were skipped."""
    return _approve(ids, actor, skip_flagged=True)


def _approve(ids: list[int], actor: str, skip_flagged: bool) -> tuple[list[int], int]:
    chosen, skipped = sorted(set(ids))[:MAX_BULK], 0
    with write_transaction():
        if skip_flagged:
            rows = db.session.execute(
                select(Signature, Signatory)
                .join(Signatory, Signatory.signature_id == Signature.id)
                .where(Signature.id.in_(chosen), waiting())
                .with_for_update()
            ).all()
            chosen, skipped = unflagged([tuple(row) for row in rows])
        listed = list_signatories(chosen)
        if listed:
            record_event(actor, APPROVE_SIGNATORY, "open letter signatory listed", rows=len(listed))
    if listed:
        forget_count()
        wake_deliverer()
    return listed, skipped


def approve_signatory(signature_id: int, actor: str) -> Verdict:
    """Put one signatory on the letter, or say why not."""
    if approve_signatories([signature_id], actor):
        return Verdict.APPROVED
    row = db.session.execute(
        select(Signature.confirmed_at, Signature.anonymised_at).where(
            Signature.id == signature_id, Signature.campaign_id == current_campaign().id
        )
    ).first()
    db.session.rollback()  # end the read: nothing else happens in this request
    if row is None or row.anonymised_at is not None:
        return Verdict.UNKNOWN
    return Verdict.NOT_CONFIRMED if row.confirmed_at is None else Verdict.ALREADY


def reject_signatory(signature_id: int, actor: str) -> bool:
    """Erase a signatory an organizer refuses (the count drops if they were listed); False if unknown."""
    return erase_signature(signature_id, actor, action=REJECT_SIGNATORY)
