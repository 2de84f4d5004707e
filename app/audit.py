"""The audit log: every export and every erasure, with who, when, what and how many."""

from sqlalchemy import select, update

from .extensions import db
from .models import AuditEvent

EXPORT, ERASE, PURGE, HIDE = "export", "erase", "purge", "hide"
APPROVE_REASON, REJECT_REASON = "approve reason", "reject reason"
ANONYMISE = "anonymise"
APPROVE_SIGNATORY, REJECT_SIGNATORY = "approve signatory", "reject signatory"


def record_event(actor: str, action: str, details: str = "", rows: int | None = None) -> AuditEvent:
    """Add an event within the caller's transaction. `details` must hold no signer's data."""
    event = AuditEvent(actor=actor, action=action, details=details, rows=rows)
    db.session.add(event)
    db.session.flush()
    return event


def set_event_rows(event_id: int, rows: int) -> None:
    """Fill in the row count once a streamed export has finished, within the caller's transaction."""
    db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(rows=rows))


def recent_events(limit: int = 20) -> list[AuditEvent]:
    """The newest events first."""
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))
