"""Retention after the campaign: erase signers' personal data, keep what the counts are made of."""

from datetime import datetime

from sqlalchemy import String, case, cast, delete, func, literal, or_, select, update

from .audit import ANONYMISE, record_event
from .campaign import current_campaign
from .database import checkpoint_erasure, write_transaction
from .extensions import db
from .models import OutboxMessage, Signature, utcnow


def anonymise_due(actor: str, now: datetime | None = None) -> int:
    """Once the campaign's retention has run out, anonymise every signature not yet anonymised; how many.

    Names, emails, comments and consents go; a Canadian postal code keeps only its first
    letter (the province); dates, country, source and the count stay. Queued mail goes too,
    and the links stop working. Running it again changes nothing.
    """
    due_at = current_campaign().anonymise_at()
    now = now or utcnow()
    if due_at is None or now < due_at:
        return 0
    remaining = Signature.anonymised_at.is_(None)
    with write_transaction():
        db.session.execute(
            delete(OutboxMessage)
            .where(
                OutboxMessage.signature_id.in_(select(Signature.id).where(remaining)),
                # A letter sent stays counted; its row holds nothing of the writer.
                or_(OutboxMessage.letter_id.is_(None), OutboxMessage.status != OutboxMessage.SENT),
            )
            .execution_options(synchronize_session=False)
        )
        anonymised = db.session.execute(
            update(Signature)
            .where(remaining)
            .values(
                name="",
                # The column is unique: each row gets its own address that can never receive mail.
                email=literal("anonymised-") + cast(Signature.id, String) + literal("@invalid"),
                email_domain="",
                postal_code=case(
                    (Signature.country == "CA", func.upper(func.substr(Signature.postal_code, 1, 1))),
                    else_="",
                ),
                comment="",
                subject="",
                message="",
                comment_approved_at=None,
                comment_rejected_at=None,
                public=False,
                updates=False,
                updates_consented_at=None,
                consent_version=None,
                anonymised_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if anonymised:
            record_event(actor, ANONYMISE, "personal data erased after the retention period", rows=anonymised)
    if anonymised:
        checkpoint_erasure()
    return anonymised
