"""The deliverer: a background thread (in each web process, or in `mail worker`) sending the outbox.

It sends each claimed message once, records the outcome, and when asked to stop finishes
the message in hand and gives the rest of its batch back at once.
"""

import logging
import os
import threading
import time
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..campaigns import campaign_by_id, campaign_scope, each_campaign
from ..emails import render_outbox
from ..extensions import db
from ..models import OutboxMessage, Signature, utcnow
from ..retention import anonymise_due
from .outbox import BATCH_SIZE, Claim, claim_with_lease, has_due, lease_length, retry_delay
from .transports import MessageDeferred, PermanentFailure, TemporaryFailure, open_transport

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
# How often a deliverer looks whether the campaign's retention has run out.
RETENTION_CHECK_SECONDS = 3600
RETENTION_ACTOR = "mail worker (retention)"


def wake_deliverer() -> None:
    """Tell this process's deliverer, if it runs one, that mail is waiting."""
    deliverer = current_app.extensions.get("deliverer")
    if deliverer is not None:
        deliverer.wake()


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

    from ..signatures import answer_resends, resends_waiting  # they queue mail: imported once both are loaded

    if resends_waiting():  # the /resend requests first: their answers are due at once
        answer_resends()
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


class Deliverer:
    """Delivers the outbox in a background thread until stopped."""

    def __init__(self, app: Flask, poll_seconds: float = POLL_SECONDS):
        self.app = app
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pid = os.getpid()
        self._retention_checked_at = float("-inf")
        self._background: threading.Thread | None = None

    def start(self) -> "Deliverer":
        self._thread = threading.Thread(target=self.run, name="mail-deliverer", daemon=True)
        if _kinds_with_background_work():  # an open letter's PDFs
            self._background = threading.Thread(
                target=self.run_background, name="kind-background", daemon=True
            )
        with _running_lock:
            _running.add(self)
        self._thread.start()
        if self._background is not None:
            self._background.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        """Finish the message in hand, release the rest of the batch, and end the thread."""
        self.request_stop()
        for kind in _kinds_with_background_work():
            kind.stop_background_work()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._background is not None:
            self._background.join(timeout)
        with _running_lock:
            _running.discard(self)

    def run(self) -> None:
        while not self._stop.is_set():
            self.check_retention()
            sent = self.run_once()
            if sent < BATCH_SIZE:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def run_once(self) -> int:
        """Deliver one batch; how many were sent."""
        return self._guarded("mail deliverer", lambda: deliver_due(should_stop=self._stop.is_set))

    def run_background(self) -> None:
        """The kinds' background work for each of their campaigns, every poll, in a thread of
        its own beside the mail's: a long PDF build never holds back a confirmation email."""
        while not self._stop.is_set():
            self._guarded("background work", self._background_pass)
            self._stop.wait(self.poll_seconds)

    def _background_pass(self) -> int:
        from ..kinds import kind_for

        done = 0
        for campaign in each_campaign():
            if self._stop.is_set():
                break
            kind = kind_for(campaign)
            if kind in _kinds_with_background_work():
                done += kind.background_work()
        return done

    def check_retention(self) -> int:
        """At most once an hour, anonymise the signatures whose retention has run out; how many."""
        if time.monotonic() - self._retention_checked_at < RETENTION_CHECK_SECONDS:
            return 0
        self._retention_checked_at = time.monotonic()
        return self._guarded(
            "retention check",
            lambda: sum(anonymise_due(actor=RETENTION_ACTOR) for _campaign in each_campaign()),
        )

    def _guarded(self, what: str, work) -> int:
        """Run `work` in an app context; any failure is logged and counts as 0, never ends the thread."""
        with self.app.app_context():
            try:
                return work()
            except SQLAlchemyError as error:
                log.warning("%s cannot reach the database: %s", what, type(error).__name__)
                return 0
            except Exception:  # noqa: BLE001 - a dead thread would silently stop all mail
                log.exception("%s hit an unexpected error; it keeps running", what)
                return 0
            finally:
                db.session.remove()


def _kinds_with_background_work() -> list:
    from ..kinds import NAMES, Kind, kind_named  # the kinds send mail: imported once both are loaded

    kinds = (kind_named(name) for name in NAMES)
    return [kind for kind in kinds if type(kind).background_work is not Kind.background_work]


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
