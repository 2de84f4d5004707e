"""The outbox: queue mail inside the signer's transaction, deliver it in the background, at least once.

A deliverer claims a batch of due messages (an atomic UPDATE ... RETURNING, with SKIP
LOCKED on PostgreSQL) under a short lease, and renews the lease of the whole batch
before it hands each message to the server. A deliverer that dies leaves its claims to
be taken over once the lease runs out, and a message it had handed over without
recording the answer is sent again: a lost confirmation is a lost signature, while a
second copy is harmless and carries the same Message-ID. A deliverer asked to stop
finishes the message in hand and releases the rest at once.

A refusal of one message (5xx for its recipient or content, no SMTPUTF8 for its
address) fails that message only, a deferred recipient (4xx) is retried alone;
connection trouble and other 4xx replies put the batch back with exponential back-off.
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
from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from .database import write_transaction
from .emails import outbox_message_id, render_email
from .extensions import db
from .models import OutboxMessage, Signature, utcnow

log = logging.getLogger(__name__)

MAX_EMAILS_PER_SIGNATURE = 5
EMAIL_WINDOW = timedelta(days=1)
BATCH_SIZE = 10
# Short, and renewed before each message: a dead deliverer's claims are taken over within a minute.
LEASE = timedelta(seconds=30)
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
POLL_SECONDS = 2.0


class TemporaryFailure(Exception):
    """The server cannot take mail now: the whole batch is worth trying again later."""


class MessageDeferred(Exception):
    """The server cannot take this one message now (a 4xx for its recipient)."""


class PermanentFailure(Exception):
    """The server refused this one message for good."""


def queue_email(signature_id: int, kind: str, now: datetime | None = None) -> bool:
    """Add a message for the signature to the outbox, within the caller's transaction.

    Returns False, queueing nothing, once the signature has had its share of mail in the
    last EMAIL_WINDOW, so nobody can use the form to flood an inbox; a day later the
    signer can get a link again, however often someone else asked for one.
    """
    now = now or utcnow()
    # Lock the signature's row first (SQLite's write transaction locks everything already):
    # parallel requests for one address then count one after another, each seeing the mail
    # the ones before it queued.
    if db.session.execute(select(Signature.id).where(Signature.id == signature_id).with_for_update()).first() is None:
        return False
    recent = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.signature_id == signature_id, OutboxMessage.created_at > now - EMAIL_WINDOW))
    if recent >= MAX_EMAILS_PER_SIGNATURE:
        return False
    db.session.execute(
        update(Signature).where(Signature.id == signature_id)
        .values(emails_queued=Signature.emails_queued + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(insert(OutboxMessage).values(signature_id=signature_id, kind=kind, created_at=now))
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


def lease_length() -> timedelta:
    """How long a claim lasts unrenewed: LEASE, or longer if one SMTP exchange may take longer.

    An exchange slower than the lease can lead to a second copy, never to a lost message.
    """
    return max(LEASE, 3 * timedelta(seconds=current_app.config["MAIL_TIMEOUT"]))


def _takeable(now: datetime):
    """Queued and due, or held under a lease that ran out (its deliverer died, whatever it was doing)."""
    return or_(
        and_(OutboxMessage.status == OutboxMessage.QUEUED, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxMessage.SENDING, OutboxMessage.lease_until < now),
    )


def claim_due(now: datetime, limit: int = BATCH_SIZE) -> list[int]:
    """Atomically take up to `limit` due messages under a lease from `now`; their ids."""
    return _claim(now, now + lease_length(), limit)


def _claim(now: datetime, lease: datetime, limit: int) -> list[int]:
    due = (
        select(OutboxMessage.id).where(_takeable(now)).order_by(OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)
    )
    with write_transaction():
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(status=OutboxMessage.SENDING, lease_until=lease, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
    return sorted(claimed)


def has_due(now: datetime) -> bool:
    """A cheap read, so idle deliverers never take SQLite's write lock."""
    return db.session.execute(select(OutboxMessage.id).where(_takeable(now)).limit(1)).first() is not None


class Claim:
    """The messages one deliverer holds, known by the lease it last wrote on them.

    Whoever takes a message over writes a lease of its own, so from then on this
    holder's writes miss that message: two deliverers never both record an outcome.
    """

    def __init__(self, ids: list[int], lease: datetime):
        self.ids = ids
        self.lease = lease

    def _held(self, ids: list[int]):
        return and_(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxMessage.SENDING,
                    OutboxMessage.lease_until == self.lease)

    def hand_over(self, message_id: int, now: datetime) -> bool:
        """Renew the lease of everything still held and mark one message as handed to the
        server; False if another deliverer has taken that message over."""
        lease = now + lease_length()
        with write_transaction():
            held = db.session.execute(
                update(OutboxMessage).where(self._held(self.ids))
                .values(lease_until=lease,
                        handed_at=case((OutboxMessage.id == message_id, now), else_=OutboxMessage.handed_at))
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            ).scalars().all()
        self.lease = lease
        return message_id in held

    def finish(self, message_id: int, **values) -> None:
        """Record a message's outcome and let go of it."""
        with write_transaction():
            db.session.execute(
                update(OutboxMessage).where(self._held([message_id])).values(lease_until=None, **values)
                .execution_options(synchronize_session=False)
            )

    def release(self, ids: list[int]) -> None:
        """Give messages back untried: due at once, and the attempt not counted."""
        with write_transaction():
            db.session.execute(
                update(OutboxMessage).where(self._held(ids))
                .values(status=OutboxMessage.QUEUED, lease_until=None, handed_at=None,
                        attempts=OutboxMessage.attempts - 1)
                .execution_options(synchronize_session=False)
            )


def _retry_or_fail(claim: Claim, message: OutboxMessage, error: str, now: datetime) -> None:
    if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        log.warning("outbox message %s failed after %s attempts: %s", message.id, message.attempts, error)
        claim.finish(message.id, status=OutboxMessage.FAILED, last_error=error[:200])
    else:
        claim.finish(message.id, status=OutboxMessage.QUEUED, last_error=error[:200], handed_at=None,
                     next_attempt_at=now + retry_delay(message.attempts))


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
    claim = Claim(_claim(now, lease, BATCH_SIZE), lease)
    if not claim.ids:
        return 0
    rows = db.session.execute(
        select(OutboxMessage, Signature)
        .join(Signature, Signature.id == OutboxMessage.signature_id)
        .where(OutboxMessage.id.in_(claim.ids))
        .order_by(OutboxMessage.id)
    ).all()
    db.session.commit()
    sent = 0
    with open_transport() as transport:
        for position, (message, signature) in enumerate(rows):
            if should_stop():
                claim.release([pending.id for pending, _signature in rows[position:]])
                break
            if message.attempts > current_app.config["MAIL_MAX_ATTEMPTS"]:
                # Claimed again and again without an answer (a deliverer dying on it):
                # stop here instead of looping for ever.
                claim.finish(message.id, status=OutboxMessage.FAILED, last_error="gave up: no outcome recorded")
                continue
            email = render_email(message.kind, signature,
                                 message_id=outbox_message_id(message.id, message.created_at))
            if not claim.hand_over(message.id, clock()):
                continue  # our lease ran out and another deliverer has it now
            try:
                transport.send(email)
            except PermanentFailure as error:
                log.warning("outbox message %s refused by the mail server: %s", message.id, error)
                claim.finish(message.id, status=OutboxMessage.FAILED, last_error=str(error)[:200])
            except MessageDeferred as error:
                log.info("outbox message %s will be retried: %s", message.id, error)
                _retry_or_fail(claim, message, str(error), clock())
            except TemporaryFailure as error:
                log.info("outbox message %s will be retried, with the rest of its batch: %s", message.id, error)
                # The server cannot take mail now: the rest of the batch waits too.
                for pending, _signature in rows[position:]:
                    _retry_or_fail(claim, pending, str(error), clock())
                break
            else:
                claim.finish(message.id, status=OutboxMessage.SENT, sent_at=clock(), last_error=None)
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
        if self.connection is None:
            try:
                self.connection = self._connect()
            except (smtplib.SMTPException, OSError) as error:
                # Refused greetings and logins too: they say nothing about this message.
                raise TemporaryFailure(_describe(error)) from None
        try:
            self.connection.send_message(message)
        except smtplib.SMTPNotSupportedError:
            # A non-ASCII address the relay cannot carry; nothing was sent, the connection is fine.
            raise PermanentFailure("the mail server has no SMTPUTF8 for this address") from None
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            listed = ", ".join(map(str, codes))
            if 421 in codes:  # the server is closing the connection (smtplib has closed it)
                self._drop()
                raise TemporaryFailure(f"{listed} recipient refused") from None
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"{listed} recipient refused") from None
            raise MessageDeferred(f"{listed} recipient deferred") from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            if 500 <= error.smtp_code < 600:  # smtplib has reset the conversation for the next message
                raise PermanentFailure(_describe(error)) from None
            self._drop()
            raise TemporaryFailure(_describe(error)) from None
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise TemporaryFailure(_describe(error)) from None

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _describe(error: Exception) -> str:
    """What went wrong, without the server's text (it may quote the address)."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} reply"
    return type(error).__name__


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
        with _running_lock:
            _running.add(self)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        """Finish the message in hand, release the rest of the batch, and end the thread."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        with _running_lock:
            _running.discard(self)

    def run(self) -> None:
        while not self._stop.is_set():
            sent = self.run_once()
            if sent < BATCH_SIZE:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def run_once(self) -> int:
        with self.app.app_context():
            try:
                return deliver_due(should_stop=self._stop.is_set)
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


def stop_deliverers(timeout: float = 30) -> None:
    """Stop every deliverer this process started (gunicorn's worker_exit hook calls it), so
    nothing stays claimed by a process that is going away."""
    with _running_lock:
        ours = [deliverer for deliverer in _running if deliverer.pid == os.getpid()]
    for deliverer in ours:
        deliverer.request_stop()
    for deliverer in ours:
        deliverer.stop(timeout)


_start_lock = threading.Lock()
_running_lock = threading.Lock()
_running: set[Deliverer] = set()
