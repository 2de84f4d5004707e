"""Delivering the outbox: claim a batch of due messages, send each once in its campaign's scope,
and record each outcome; asked to stop, finish the message in hand and give the rest back.

app/jobs.py runs it in a thread of each web process, or of `mail worker`.
"""

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..campaigns import campaign_by_id, campaign_scope
from ..emails import render_outbox
from ..extensions import db
from ..models import OutboxMessage, Signature, utcnow
from .outbox import BATCH_SIZE, Claim, claim_with_lease, has_due, lease_length, retry_delay
from .transports import MessageDeferred, PermanentFailure, TemporaryFailure, open_transport

log = logging.getLogger(__name__)


def wake_deliverer() -> None:
    """Tell this process's background jobs (app/jobs.py), if it runs them, that mail is waiting."""
    jobs = current_app.extensions.get("jobs")
    if jobs is not None:
        jobs.wake()


def _retry_or_fail(held: Claim, message: OutboxMessage, error: str, now: datetime) -> None:
    if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        log.warning("outbox message %s failed after %s attempts: %s", message.id, message.attempts, error)
        held.finish(message.id, status=OutboxMessage.FAILED, last_error=error[:200])
    else:
        held.finish(
            message.id,
            status=OutboxMessage.QUEUED,
            last_error=error[:200],
            handed_at=None,
            next_attempt_at=now + retry_delay(message.attempts),
        )


def deliver_due(now: datetime | None = None, should_stop=lambda: False) -> int:
    """Claim one batch of due messages and try to send each once; how many were sent.

    `now` moves this call's clock (tests); `should_stop` is asked before each message,
    and once it says yes the messages not yet started are released.
    """
    offset = now - utcnow() if now else timedelta(0)

    def clock() -> datetime:
        return utcnow() + offset

    now = clock()
    if not has_due(now):
        db.session.commit()
        return 0
    lease = now + lease_length()
    held = Claim(claim_with_lease(now, lease, BATCH_SIZE), lease)
    if not held.ids:
        return 0
    rows = db.session.execute(
        select(OutboxMessage, Signature)
        .join(Signature, Signature.id == OutboxMessage.signature_id)
        .where(OutboxMessage.id.in_(held.ids))
        .order_by(OutboxMessage.id)
    ).all()
    db.session.commit()
    sent = 0
    with open_transport() as transport:
        for position, (message, signature) in enumerate(rows):
            if should_stop():
                held.release([pending.id for pending, _signature in rows[position:]])
                break
            with campaign_scope(campaign_by_id(signature.campaign_id)):
                outcome, error = _deliver_one(held, transport, message, signature, clock)
            if outcome == SENT:
                sent += 1
            elif outcome == SERVER_BUSY:
                # The server cannot take mail now: the rest of the batch waits too.
                for pending, _signature in rows[position + 1 :]:
                    _retry_or_fail(held, pending, str(error), clock())
                break
            elif outcome == UNEXPECTED:
                held.release([pending.id for pending, _signature in rows[position + 1 :]])
                raise error
    return sent


SENT, NOT_SENT, SERVER_BUSY, UNEXPECTED = "sent", "not sent", "server busy", "unexpected"


def _deliver_one(held: Claim, transport, message: OutboxMessage, signature: Signature, clock):
    """Render and send one claimed message, in its campaign's scope: the outcome, SENT, NOT_SENT
    (failed, or to retry), SERVER_BUSY (the rest of the batch waits) or UNEXPECTED, and the
    error of the last two."""
    if message.attempts > current_app.config["MAIL_MAX_ATTEMPTS"]:
        # Claimed again and again without an answer (a deliverer dying on it): stop here
        # instead of looping for ever.
        held.finish(message.id, status=OutboxMessage.FAILED, last_error="gave up: no outcome recorded")
        return NOT_SENT, None
    try:
        email = render_outbox(message, signature)
    except Exception:  # noqa: BLE001 - one message we cannot build must not hold back the rest
        log.exception("outbox message %s could not be rendered; it will be retried", message.id)
        _retry_or_fail(held, message, "could not be rendered", clock())
        return NOT_SENT, None
    if not held.hand_over(message.id, clock(), message.letter_id):
        return NOT_SENT, None  # our lease ran out and another deliverer has it now, or the letter waits
    try:
        transport.send(email)
    except PermanentFailure as error:
        log.warning("outbox message %s refused by the mail server: %s", message.id, error)
        held.finish(message.id, status=OutboxMessage.FAILED, last_error=str(error)[:200])
        return NOT_SENT, None
    except MessageDeferred as error:
        log.info("outbox message %s will be retried: %s", message.id, error)
        _retry_or_fail(held, message, str(error), clock())
        return NOT_SENT, None
    except TemporaryFailure as error:
        log.info("outbox message %s will be retried, with the rest of its batch: %s", message.id, error)
        _retry_or_fail(held, message, str(error), clock())
        return SERVER_BUSY, error
    except Exception as error:  # noqa: BLE001 - unforeseen: retry this one, give the rest back, stop
        log.exception("outbox message %s hit an unexpected error while sending", message.id)
        _retry_or_fail(held, message, "unexpected error while sending", clock())
        return UNEXPECTED, error
    held.finish(message.id, status=OutboxMessage.SENT, sent_at=clock(), last_error=None)
    return SENT, None
