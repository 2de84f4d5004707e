"""Retention after the campaign: erase signers' personal data, keep what the counts are made of."""

from datetime import datetime

from sqlalchemy import delete, func, select, update

from .audit import ANONYMISE, record_event
from .campaign import current_campaign
from .counter import add_to_count, forget_count
from .database import checkpoint_erasure, write_transaction
from .extensions import db
from .kinds import kind_for
from .models import OutboxMessage, Signature, utcnow
from .personal import anonymised_values, personal_rows, written_over_beside
from .tallies import drop_empty_tallies


def anonymise_due(actor: str, now: datetime | None = None) -> int:
    """Once the current campaign's retention has run out, anonymise every signature of it not yet
    anonymised; how many.

    Names, emails, comments and consents go, and so do an open letter's title, affiliation,
    website and contact name; a Canadian postal code keeps only its first letter (the
    province); dates, country, source and the count stay. Where the count is of listed names
    (an open letter), it drops by the names taken off. Queued mail goes too, and the links
    stop working. Running it again changes nothing.
    """
    due_at = current_campaign().anonymise_at()
    now = now or utcnow()
    if due_at is None or now < due_at:
        return 0
    remaining = (Signature.campaign_id == current_campaign().id) & Signature.anonymised_at.is_(None)
    counted = kind_for(current_campaign()).counted(current_campaign().id)
    with write_transaction():
        counted_before = _count(remaining & counted)
        # Their mail goes, and their letters too: the letters sent stay counted by day and
        # representative (models.LetterDay), and a letter's ward is finer than the province kept.
        writers = select(Signature.id).where(remaining)
        db.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.signature_id.in_(writers))
            .execution_options(synchronize_session=False)
        )
        for signature_id in personal_rows():  # its letters, and later submissions of a pending one
            db.session.execute(delete(signature_id.table).where(signature_id.in_(writers)))
        for signature_id in written_over_beside():  # the kind's own answers (a signatory's title...)
            db.session.execute(
                update(signature_id.table)
                .where(signature_id.in_(writers))
                .values(**anonymised_values(signature_id.table))
                .execution_options(synchronize_session=False)
            )
        anonymised = db.session.execute(
            update(Signature)
            .where(remaining)
            .values(**anonymised_values(), anonymised_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        uncounted = counted_before - _count((Signature.anonymised_at == now) & counted)
        if uncounted:
            add_to_count(-uncounted)
        if anonymised:
            record_event(actor, ANONYMISE, "personal data erased after the retention period", rows=anonymised)
    if uncounted:
        forget_count()
    if anonymised:
        drop_empty_tallies()
        checkpoint_erasure()
    return anonymised


def _count(condition) -> int:
    return db.session.scalar(select(func.count()).select_from(Signature).where(condition))
