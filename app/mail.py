"""The outbox: queue mail inside the signer's transaction, deliver it in the background.

A message is claimed by one deliverer at a time (an atomic UPDATE ... RETURNING,
with SKIP LOCKED on PostgreSQL) under a lease; a deliverer that dies mid-batch
leaves its messages to be claimed again when the lease runs out. Temporary
failures (connection trouble, 4xx replies) are retried with exponential back-off;
5xx replies and too many attempts mark the message failed.
"""

import logging
import mailbox
import os
import smtplib
import threading
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from .database import write_transaction
from .emails import render_email
from .extensions import db
from .models import OutboxMessage, Signature, utcnow

log = logging.getLogger(__name__)

MAX_EMAILS_PER_SIGNATURE = 5
BATCH_SIZE = 10
LEASE = timedelta(minutes=5)
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
POLL_SECONDS = 2.0


class TemporaryFailure(Exception):
    """Worth trying again later."""


class PermanentFailure(Exception):
    """The server refused the message for good."""


def queue_email(signature_id: int, kind: str) -> bool:
    """Add a message for the signature to the outbox, within the caller's transaction.

    Returns False, queueing nothing, once the signature has had its share of mail,
    so nobody can use the form to flood an inbox.
    """
    allowed = db.session.execute(
        update(Signature)
        .where(Signature.id == signature_id, Signature.emails_queued < MAX_EMAILS_PER_SIGNATURE)
        .values(emails_queued=Signature.emails_queued + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not allowed:
        return False
    db.session.execute(insert(OutboxMessage).values(signature_id=signature_id, kind=kind))
    return True


def wake_deliverer() -> None:
    """Tell this process's deliverer, if it runs one, that mail is waiting."""
    deliverer = current_app.extensions.get("deliverer")
    if deliverer is not None:
        deliverer.wake()


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 30 s, 1 min, 2 min, ... at most an hour."""
    doublings = min(max(attempts - 1, 0), 16)  # 2**16 x 30 s is far past the cap already
    return min(RETRY_BASE * 2 ** doublings, RETRY_CAP)


def _takeable(now: datetime):
    """Queued and due, or left behind by a deliverer that died before handing it to SMTP."""
    return or_(
        and_(OutboxMessage.status == OutboxMessage.QUEUED, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxMessage.SENDING, OutboxMessage.lease_until < now,
             OutboxMessage.handed_at.is_(None)),
    )


def _interrupted(now: datetime):
    """Handed to SMTP by a deliverer that died before it could record the outcome."""
    return and_(OutboxMessage.status == OutboxMessage.SENDING, OutboxMessage.lease_until < now,
                OutboxMessage.handed_at.is_not(None))


INTERRUPTED = "interrupted while sending; not sent again, to avoid a duplicate"


def claim_due(now: datetime, limit: int = BATCH_SIZE) -> list[int]:
    """Atomically take up to `limit` due messages for this deliverer; their ids.

    The same write transaction first retires messages a dead deliverer had handed to SMTP.
    """
    due = (
        select(OutboxMessage.id).where(_takeable(now)).order_by(OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)
    )
    with write_transaction():
        _fail_interrupted(now)
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(status=OutboxMessage.SENDING, lease_until=now + LEASE,
                    attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
    return sorted(claimed)


def _fail_interrupted(now: datetime) -> None:
    """Within the caller's transaction, mark messages whose sending was cut off as failed: the
    server may have them already, and a second copy is worse than a missing one the signer
    can ask for again."""
    db.session.execute(
        update(OutboxMessage).where(_interrupted(now))
        .values(status=OutboxMessage.FAILED, lease_until=None, last_error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )


def has_due(now: datetime) -> bool:
    """A cheap read, so idle deliverers never take SQLite's write lock."""
    return db.session.execute(
        select(OutboxMessage.id).where(or_(_takeable(now), _interrupted(now))).limit(1)
    ).first() is not None


def _update_sending(message_id: int, **values) -> None:
    """Change a message this deliverer holds (and no longer, should its lease have passed)."""
    with write_transaction():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxMessage.SENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _mark_handed(message_id: int) -> None:
    _update_sending(message_id, handed_at=utcnow())


def _finish(message_id: int, **values) -> None:
    _update_sending(message_id, lease_until=None, **values)


def _retry_or_fail(message: OutboxMessage, error: str, now: datetime) -> None:
    if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        log.warning("outbox message %s failed after %s attempts: %s", message.id, message.attempts, error)
        _finish(message.id, status=OutboxMessage.FAILED, last_error=error[:200])
    else:
        # A refused or failed conversation delivered nothing: sending again is safe.
        _finish(message.id, status=OutboxMessage.QUEUED, last_error=error[:200], handed_at=None,
                next_attempt_at=now + retry_delay(message.attempts))


def deliver_due(now: datetime | None = None) -> int:
    """Claim one batch of due messages and try to send each once; how many were sent."""
    now = now or utcnow()
    if not has_due(now):
        db.session.commit()
        return 0
    ids = claim_due(now)
    if not ids:
        return 0
    rows = db.session.execute(
        select(OutboxMessage, Signature)
        .join(Signature, Signature.id == OutboxMessage.signature_id)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.id)
    ).all()
    db.session.commit()
    sent = 0
    with open_transport() as transport:
        for position, (message, signature) in enumerate(rows):
            if message.attempts > current_app.config["MAIL_MAX_ATTEMPTS"]:
                # Claimed again and again without an answer (a deliverer dying on it):
                # stop here instead of looping for ever.
                _finish(message.id, status=OutboxMessage.FAILED, last_error="gave up: no outcome recorded")
                continue
            try:
                email = render_email(message.kind, signature)
                _mark_handed(message.id)
                transport.send(email)
            except PermanentFailure as error:
                log.warning("outbox message %s refused by the mail server: %s", message.id, error)
                _finish(message.id, status=OutboxMessage.FAILED, last_error=str(error)[:200])
            except TemporaryFailure as error:
                log.info("outbox message %s will be retried: %s", message.id, error)
                # The server is unreachable: the rest of the batch waits too.
                for pending, _signature in rows[position:]:
                    _retry_or_fail(pending, str(error), now)
                break
            else:
                _finish(message.id, status=OutboxMessage.SENT, sent_at=utcnow(), last_error=None)
                sent += 1
    return sent


class SMTPTransport:
    """One SMTP connection per batch, opened on first use, always with a timeout."""

    def __init__(self, config):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
        return False

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        cls = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        connection = cls(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
        if config["MAIL_USE_TLS"]:
            connection.starttls()
        if config["MAIL_USERNAME"]:
            connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        return connection

    def send(self, message: EmailMessage) -> None:
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused ({', '.join(map(str, codes))})") from None
            raise TemporaryFailure(f"recipient deferred ({', '.join(map(str, codes))})") from None
        except smtplib.SMTPResponseException as error:
            self._drop()
            if 500 <= error.smtp_code < 600 and not isinstance(error, smtplib.SMTPAuthenticationError):
                raise PermanentFailure(f"{error.smtp_code} reply") from None
            raise TemporaryFailure(f"{error.smtp_code} reply") from None
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise TemporaryFailure(type(error).__name__) from None

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class KeptMailTransport:
    """Development without MAIL_SERVER: keep each message in a Maildir for the mail viewer."""

    def __init__(self):
        self.box = open_kept_mailbox()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def send(self, message: EmailMessage) -> None:
        self.box.add(message)


def open_kept_mailbox() -> mailbox.Maildir:
    """The Maildir in instance/ where development mail is kept."""
    directory = Path(current_app.instance_path) / "mail"
    directory.parent.mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(directory, create=True)


def open_transport():
    """SMTP when a server is configured, otherwise the development mailbox."""
    if current_app.config["MAIL_SERVER"]:
        return SMTPTransport(current_app.config)
    return KeptMailTransport()


def can_deliver(app: Flask) -> bool:
    """Mail goes somewhere: a server, or the development mail viewer."""
    return bool(app.config["MAIL_SERVER"]) or app.config["DEVELOPMENT"]


class Deliverer:
    """Delivers the outbox in a background thread until stopped."""

    def __init__(self, app: Flask, poll_seconds: float = POLL_SECONDS):
        self.app = app
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pid = os.getpid()

    def start(self) -> "Deliverer":
        self._thread = threading.Thread(target=self.run, name="mail-deliverer", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        while not self._stop.is_set():
            sent = self.run_once()
            if sent < BATCH_SIZE:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def run_once(self) -> int:
        with self.app.app_context():
            try:
                return deliver_due()
            except SQLAlchemyError as error:
                log.warning("mail deliverer cannot reach the database: %s", type(error).__name__)
                return 0
            except Exception:  # noqa: BLE001 - a dead thread would silently stop all mail
                log.exception("mail deliverer hit an unexpected error; it keeps running")
                return 0
            finally:
                db.session.remove()


def start_in_web_deliverer() -> None:
    """Start this process's deliverer on its first request (after gunicorn forks)."""
    app = current_app._get_current_object()
    deliverer = app.extensions.get("deliverer")
    if deliverer is not None and deliverer.pid == os.getpid():
        return
    with _start_lock:
        deliverer = app.extensions.get("deliverer")
        if deliverer is None or deliverer.pid != os.getpid():
            app.extensions["deliverer"] = Deliverer(app).start()


_start_lock = threading.Lock()
