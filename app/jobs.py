"""The background jobs of a process (each web worker, or `mail worker`), each in a thread of its own:

- mail: answer the /resend requests, then deliver the outbox (mail/deliverer.py), woken at once
  when a request queues mail, else every poll;
- the kinds' own work, for each of their campaigns (an open letter's PDFs), every poll: a long
  PDF build never holds back a confirmation email;
- retention: once an hour, anonymise each campaign whose retention has run out (retention.py).

A job that fails is logged and tried again at its next turn; it never ends its thread.
"""

import logging
import os
import threading
import time
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from .campaigns import each_campaign
from .extensions import db
from .kinds import NAMES, Kind, kind_for, kind_named
from .mail import deliver_due
from .mail.outbox import BATCH_SIZE
from .retention import anonymise_due
from .signatures import answer_resends, resends_waiting

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
# How often retention looks whether a campaign's retention has run out.
RETENTION_CHECK_SECONDS = 3600
RETENTION_ACTOR = "mail worker (retention)"


def mail_pass(now: datetime | None = None, should_stop=lambda: False) -> int:
    """The /resend requests first (their answers are due at once), then one batch of the
    outbox; how many emails were sent. `now` moves the outbox's clock (tests)."""
    if resends_waiting():
        answer_resends()
    return deliver_due(now, should_stop)


def kinds_with_background_work() -> list[Kind]:
    kinds = (kind_named(name) for name in NAMES)
    return [kind for kind in kinds if type(kind).background_work is not Kind.background_work]


class Jobs:
    """This process's background jobs, until stopped."""

    def __init__(self, app: Flask, poll_seconds: float = POLL_SECONDS):
        self.app = app
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.pid = os.getpid()
        self._retention_checked_at = float("-inf")

    def start(self, mail: bool = True) -> "Jobs":
        """Run every job in threads of its own; without `mail`, all but the mail job (which the
        caller then runs itself, as `mail worker` does in its main thread)."""
        loops = [("mail", self.run)] if mail else []
        loops.append(("retention", self.run_retention))
        if kinds_with_background_work():
            loops.append(("kinds", self.run_kinds))
        self._threads = [
            threading.Thread(target=loop, name=f"jobs-{name}", daemon=True) for name, loop in loops
        ]
        with _running_lock:
            _running.add(self)
        for thread in self._threads:
            thread.start()
        return self

    def is_alive(self) -> bool:
        """Whether every job's thread is still running."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def wake(self) -> None:
        """Mail is waiting: the mail job looks now rather than at its next poll."""
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        """Finish the message in hand, release the rest of the batch, and end the threads."""
        self.request_stop()
        for kind in kinds_with_background_work():
            kind.stop_background_work()
        for thread in self._threads:
            thread.join(timeout)
        with _running_lock:
            _running.discard(self)

    def run(self) -> None:
        """The mail job, until stopped (`mail worker` runs it in its main thread)."""
        while not self._stop.is_set():
            sent = self.run_once()
            if sent < BATCH_SIZE:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def run_once(self) -> int:
        """Answer the resends and deliver one batch; how many were sent."""
        return self._guarded("mail deliverer", lambda: mail_pass(should_stop=self._stop.is_set))

    def run_kinds(self) -> None:
        while not self._stop.is_set():
            self._guarded("background work", self._kinds_pass)
            self._stop.wait(self.poll_seconds)

    def _kinds_pass(self) -> int:
        done = 0
        for campaign in each_campaign():
            if self._stop.is_set():
                break
            kind = kind_for(campaign)
            if kind in kinds_with_background_work():
                done += kind.background_work()
        return done

    def run_retention(self) -> None:
        while not self._stop.is_set():
            self.check_retention()
            self._stop.wait(self.poll_seconds)

    def check_retention(self) -> int:
        """At most once an hour, anonymise the signatures whose retention has run out; how many."""
        if time.monotonic() - self._retention_checked_at < RETENTION_CHECK_SECONDS:
            return 0
        self._retention_checked_at = time.monotonic()
        return self._guarded("retention check", lambda: anonymise_all_due(RETENTION_ACTOR))

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


def start_in_web() -> None:
    """Start this process's jobs on its first request (after gunicorn forks)."""
    app = current_app._get_current_object()
    jobs = app.extensions.get("jobs")
    if jobs is not None and jobs.pid == os.getpid():
        return
    with _start_lock:
        jobs = app.extensions.get("jobs")
        if jobs is None or jobs.pid != os.getpid():
            app.extensions["jobs"] = Jobs(app).start()


def stop_all(timeout: float = 30) -> None:
    """Stop every Jobs this process started (gunicorn's worker_exit hook calls it), so nothing
    stays claimed by a process that is going away."""
    with _running_lock:
        ours = [jobs for jobs in _running if jobs.pid == os.getpid()]
    for jobs in ours:
        jobs.request_stop()
    for jobs in ours:
        jobs.stop(timeout)


_start_lock = threading.Lock()
_running_lock = threading.Lock()
_running: set[Jobs] = set()


def anonymise_all_due(actor: str) -> int:
    """retention.anonymise_due for each campaign, in its scope; how many signatures in all."""
    return sum(anonymise_due(actor) for _campaign in each_campaign())
