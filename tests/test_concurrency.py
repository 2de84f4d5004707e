"""Many people at once against a real gunicorn with several workers (and its in-web deliverers):
one row and one email per signer, one count per confirmation, nothing half done after a crash."""

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.mail import INTERRUPTED, LEASE
from app.models import CountShard, OutboxMessage, Signature, utcnow
from conftest import deliver, free_port, link_in
from servers import Gunicorn, Visitor
from test_properties import assert_no_half_written_rows

SIGNERS = 40
WORKERS = 3


@pytest.fixture
def server_env(app, smtp, database_url):
    return {"DATABASE_URL": database_url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
            "MAIL_IN_WEB": "1", "RATELIMIT_ENABLED": "0"}


@pytest.fixture
def gunicorn(server_env):
    server = Gunicorn(free_port(), WORKERS, server_env)
    yield server
    server.stop()


def sign_in_parallel(url: str, emails: list[str]) -> list[tuple[str, int | None]]:
    barrier = threading.Barrier(min(len(emails), 20))

    def one(email):
        visitor = Visitor(url)
        try:
            token = visitor.token()
        except requests.RequestException:
            token = None  # the worker serving the page was killed (refused, reset or cut short)
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        if token is None:
            return email, None
        try:
            response = visitor.session.post(url + "/sign", allow_redirects=False, timeout=30, data={
                "name": "Parallel Person", "email": email, "postal_code": "K1A 0B1", "country": "CA",
                "csrf_token": token})
            return email, response.status_code
        except requests.RequestException:
            return email, None  # the worker serving it was killed

    with ThreadPoolExecutor(max_workers=20) as pool:
        return list(pool.map(one, emails))


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(Signature))
        confirmed = db.session.scalar(select(func.count()).where(Signature.confirmed_at.is_not(None)))
        tally = db.session.scalar(select(func.sum(CountShard.count)))
        db.session.remove()
    return rows, confirmed, tally


def test_parallel_signers_each_get_one_row_and_one_email(app, gunicorn, smtp):
    # Every address twice, at the same moment: the duplicates race each other across workers.
    emails = [f"parallel{n}@example.ca" for n in range(SIGNERS // 2)] * 2
    results = sign_in_parallel(gunicorn.url, emails)
    assert {status for _email, status in results} == {303}
    rows, _confirmed, _tally = counts(app)
    assert rows == SIGNERS // 2
    messages = smtp.wait_for(SIGNERS, timeout=60)  # one confirmation each, then one resent link each
    assert Counter(message["To"] for message in messages) == Counter(emails)
    assert_no_half_written_rows(app)


def test_one_confirmation_link_posted_in_parallel_counts_once(app, gunicorn, smtp):
    visitor = Visitor(gunicorn.url)
    assert visitor.sign("once@example.ca").status_code == 303
    [message] = smtp.wait_for(1, timeout=30)
    confirm_path = link_in(message, "/confirm/", base=gunicorn.url)

    def press(_):
        person = Visitor(gunicorn.url)
        return person.post(confirm_path, {}).status_code  # token from the campaign page

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(press, range(10)))
    assert set(statuses) <= {303}
    rows, confirmed, tally = counts(app)
    assert (rows, confirmed, tally) == (1, 1, 1)
    assert requests.get(gunicorn.url + "/api/count", timeout=5).json()["count"] in (0, 1)  # cached up to 1 s


def test_a_worker_killed_mid_burst_leaves_no_partial_rows_and_no_duplicate_emails(app, gunicorn, smtp):
    victim = gunicorn.worker_pids()[0]
    killer = threading.Timer(0.3, lambda: os.kill(victim, signal.SIGKILL))
    killer.start()
    results = sign_in_parallel(gunicorn.url, [f"burst{n}@example.ca" for n in range(60)])
    killer.join()
    assert victim not in gunicorn.worker_pids(), "the worker really died (gunicorn replaced it)"
    answered = {email for email, status in results if status == 303}
    assert answered, "most signers were answered"
    assert {status for _email, status in results} <= {303, 502, None}
    with app.app_context():
        stored = set(db.session.scalars(select(Signature.email)))
    assert answered <= stored, "every signer who was answered has a row"
    assert_no_half_written_rows(app)

    # The live workers' deliverers send what they can; what the dead worker had claimed waits
    # for its lease. Only once they are quiet does the test move the clock past the lease.
    wait_for_quiet_outbox(app, smtp)
    deliver(app, now=utcnow() + LEASE + timedelta(seconds=1))
    with app.app_context():
        rows = db.session.execute(select(Signature.email, OutboxMessage.status, OutboxMessage.last_error)
                                  .join(OutboxMessage, OutboxMessage.signature_id == Signature.id)).all()
        db.session.remove()
    assert len(rows) == len(stored), "one outbox message per signature"
    interrupted = {email for email, status, error in rows if status == OutboxMessage.FAILED}
    assert all(error == INTERRUPTED for _email, status, error in rows if status == OutboxMessage.FAILED)
    assert {status for _email, status, _error in rows} <= {OutboxMessage.SENT, OutboxMessage.FAILED}
    recipients = Counter(message["To"] for message in smtp.wait_for(len(stored) - len(interrupted)))
    assert max(recipients.values()) == 1, "nobody got the same email twice"
    assert set(recipients) | interrupted == stored, "every other signer got their email"
    assert len(interrupted) <= 1, "at most the one message in flight when the worker died"


def wait_for_quiet_outbox(app, smtp, timeout: float = 60) -> None:
    """Until nothing is queued and neither the outbox nor the mailbox has moved for a second."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        with app.app_context():
            state = (db.session.scalar(select(func.count()).where(OutboxMessage.status == OutboxMessage.QUEUED)),
                     db.session.scalar(select(func.count()).where(OutboxMessage.status == OutboxMessage.SENDING)),
                     len(smtp.messages))
            db.session.remove()
        if state[0] == 0 and state == last:
            return
        last = state
        time.sleep(1)
    raise AssertionError(f"outbox never settled: {last}")


@pytest.fixture
def shared_redis():
    url = "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.ConnectionError:
        pytest.fail("Redis is not answering on 127.0.0.1:6379 (.ci/run starts it)")
    yield url
    client.flushdb()


def test_rate_limits_hold_across_workers_sharing_redis(server_env, shared_redis):
    env = {**server_env, "RATELIMIT_ENABLED": "1", "RATELIMIT_STORAGE_URI": shared_redis,
           "RATELIMIT_SIGN": "5 per minute"}
    server = Gunicorn(free_port(), WORKERS, env)
    try:
        visitors = [Visitor(server.url) for _ in range(12)]
        tokens = [visitor.token() for visitor in visitors]

        def attempt(index):
            return visitors[index].session.post(server.url + "/sign", allow_redirects=False, timeout=30, data={
                "name": "R", "email": f"limit{index}@example.ca", "postal_code": "K1A 0B1", "country": "CA",
                "csrf_token": tokens[index]}).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = Counter(pool.map(attempt, range(12)))
        pids = server.worker_pids()
    finally:
        server.stop()
    assert len(pids) == WORKERS
    assert statuses == Counter({303: 5, 429: 7}), statuses
