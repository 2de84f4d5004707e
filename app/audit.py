"""The audit log: every export and every erasure, with who, when, what and how many."""

from flask import g
from sqlalchemy import select, update

from .extensions import db
from .models import AuditEvent

EXPORT, ERASE, PURGE, HIDE = "export", "erase", "purge", "hide"
APPROVE_REASON, REJECT_REASON = "approve reason", "reject reason"
ANONYMISE = "anonymise"
APPROVE_SIGNATORY, REJECT_SIGNATORY = "approve signatory", "reject signatory"


def record_event(actor: str, action: str, details: str = "", rows: int | None = None) -> AuditEvent:
    """Add an event within the caller's transaction, of the campaign in scope (none for the
    deployment's own events). `details` must hold no signer's data."""
    campaign = g.get("campaign")
    event = AuditEvent(
        campaign_id=campaign.id if campaign is not None else None,
        actor=actor,
        action=action,
        details=details,
        rows=rows,
    )
    db.session.add(event)
    db.session.flush()
    return event


def set_event_rows(event_id: int, rows: int) -> None:
    """Fill in the row count once a streamed export has finished, within the caller's transaction."""
    db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(rows=rows))


def recent_events(campaign_id: int | None, limit: int = 20) -> list[AuditEvent]:
    """The newest events of one campaign first (of the deployment itself for None)."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.campaign_id.is_(None)
                if campaign_id is None
                else AuditEvent.campaign_id == campaign_id
            )
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
