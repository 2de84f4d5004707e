"""Many people at once against a real gunicorn with several workers (and its in-web deliverers):
one row and one email per signer, one count per confirmation, nothing half done and no email lost
after a crash, nothing left claimed after a graceful stop."""

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import CountShard, OutboxMessage, Signature
from helpers import (
    LETTER_CAMPAIGN,
    assert_finished_one_and_released_the_rest,
    assert_no_half_written_rows,
    deliver,
    free_port,
    link_in,
    outbox_rows,
    sign,
    wait_until_a_message_is_in_hand,
)
from servers import Gunicorn, Visitor

SIGNERS = 40
WORKERS = 3


@pytest.fixture
def server_env(app, smtp, database_url):
    return {
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_IN_WEB": "1",
        "RATELIMIT_ENABLED": "0",
    }


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
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)
        if token is None:
            return email, None
        try:
            response = visitor.session.post(
                url + "/sign",
                allow_redirects=False,
                timeout=30,
                data={
                    "name": "Parallel Person",
                    "email": email,
                    "postal_code": "K1A 0B1",
                    "country": "CA",
                    "csrf_token": token,
                },
            )
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


@pytest.fixture
def short_lease_gunicorn(server_env):
    """gunicorn whose deliverers hold a batch 5 s unrenewed (MAIL_LEASE) instead of 30."""
    server = Gunicorn(free_port(), WORKERS, {**server_env, "MAIL_LEASE": "5", "MAIL_TIMEOUT": "1"})
    yield server
    server.stop()


def test_a_worker_killed_mid_burst_loses_no_row_and_no_email(app, short_lease_gunicorn, smtp):
    # A relay that takes a moment per message, so deliverers hold their batches for a while;
    # what the killed one held goes out again once its lease runs out.
    gunicorn = short_lease_gunicorn
    smtp.sink.delay = 0.2
    killed: dict[str, object] = {}

    def kill_a_worker_holding_mail():
        deadline = time.monotonic() + 30
        while (victim := gunicorn.worker_talking_to(smtp.port)) is None:
            if time.monotonic() > deadline:
                return  # reported below, from the test's own thread
            time.sleep(0.005)
        os.kill(victim, signal.SIGKILL)  # as the OOM killer or gunicorn's timeout does
        wait_for_death(victim)
        with app.app_context():  # messages whose fate the dead worker took with it
            killed["in_flight"] = set(
                db.session.scalars(
                    select(Signature.email)
                    .join(OutboxMessage, OutboxMessage.signature_id == Signature.id)
                    .where(
                        OutboxMessage.status == OutboxMessage.SENDING, OutboxMessage.handed_at.is_not(None)
                    )
                )
            )
            db.session.remove()
        killed["pid"] = victim

    killer = threading.Thread(target=kill_a_worker_holding_mail)
    killer.start()
    results = sign_in_parallel(gunicorn.url, [f"burst{n}@example.ca" for n in range(60)])
    killer.join()
    assert "pid" in killed, "no worker ever talked to the mail server"
    assert killed["pid"] not in gunicorn.worker_pids(), "the worker really died (gunicorn replaced it)"
    answered = {email for email, status in results if status == 303}
    assert answered, "most signers were answered"
    assert {status for _email, status in results} <= {303, 502, None}
    with app.app_context():
        stored = set(db.session.scalars(select(Signature.email)))
        db.session.remove()
    assert answered <= stored, "every signer who was answered has a row"
    assert_no_half_written_rows(app)

    # No clock tricks: the surviving workers' deliverers take over what the dead one held.
    deadline = time.monotonic() + 60
    while not stored <= {message["To"] for message in smtp.messages}:
        missing = stored - {message["To"] for message in smtp.messages}
        assert time.monotonic() < deadline, f"{len(missing)} signers got no email within a minute"
        time.sleep(0.2)
    while {row.status for row in outbox_rows(app)} != {OutboxMessage.SENT}:  # the last outcomes recorded
        assert time.monotonic() < deadline, {row.status for row in outbox_rows(app)}
        time.sleep(0.2)
    recipients = Counter(message["To"] for message in smtp.messages)
    duplicates = {email for email, copies in recipients.items() if copies > 1}
    assert duplicates <= killed["in_flight"], "a second copy only when the first one's fate was unknown"
    assert len(duplicates) <= 1 and max(recipients.values()) <= 2
    for email in duplicates:
        ids = {message["Message-ID"] for message in smtp.messages if message["To"] == email}
        assert len(ids) == 1, "the copy carries the same Message-ID"


def wait_for_death(pid: int, timeout: float = 10) -> None:
    """Until the process is gone or a zombie: after that it can write nothing more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except FileNotFoundError:
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} did not die")


def test_sigterm_finishes_the_message_in_hand_and_releases_the_rest_of_the_batch(
    app, client, smtp, server_env
):
    for number in range(6):  # queued before the server starts: its deliverer takes them as one batch
        sign(client, email=f"deploy{number}@example.ca")
    smtp.sink.delay = 1
    server = Gunicorn(free_port(), 1, server_env)
    try:
        wait_until_a_message_is_in_hand(app)
    finally:
        output = server.stop()  # SIGTERM, as every deploy does
    assert server.process.returncode == 0, output
    _sent, released = assert_finished_one_and_released_the_rest(app)
    smtp.sink.delay = 0
    assert deliver(app) == len(released), "the next deliverer takes them at once, without waiting out a lease"
    assert len(smtp.wait_for(6)) == 6


def test_rate_limits_hold_across_workers_sharing_redis(server_env, shared_redis):
    env = {
        **server_env,
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_STORAGE_URI": shared_redis,
        "RATELIMIT_SIGN": "5 per minute",
    }
    server = Gunicorn(free_port(), WORKERS, env)
    try:
        visitors = [Visitor(server.url) for _ in range(12)]
        tokens = [visitor.token() for visitor in visitors]

        def attempt(index):
            return (
                visitors[index]
                .session.post(
                    server.url + "/sign",
                    allow_redirects=False,
                    timeout=30,
                    data={
                        "name": "R",
                        "email": f"limit{index}@example.ca",
                        "postal_code": "K1A 0B1",
                        "country": "CA",
                        "csrf_token": tokens[index],
                    },
                )
                .status_code
            )

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = Counter(pool.map(attempt, range(12)))
        pids = server.worker_pids()
    finally:
        server.stop()
    assert len(pids) == WORKERS
    assert statuses == Counter({303: 5, 429: 7}), statuses


def test_a_letter_confirmed_in_parallel_goes_once_to_each_representative(server_env, smtp):
    server = Gunicorn(free_port(), WORKERS, {**server_env, "CAMPAIGN_FILE": str(LETTER_CAMPAIGN)})
    try:
        writer = Visitor(server.url)
        letter = {
            "postal_code": "K1A 0B1",
            "targets": ["mayor", "ward-1"],
            "subject": "Objet",
            "message": "Ma lettre.",
            "name": "Parallel Writer",
            "email": "writer@example.ca",
            "country": "CA",
        }
        response = writer.post("/sign", letter, token_from="/write?postal_code=K1A+0B1")
        assert response.status_code == 303
        [message] = smtp.wait_for(1, timeout=30)
        confirm_path = link_in(message, "/confirm/", base=server.url)
        barrier = threading.Barrier(10)

        def press(_):
            person = Visitor(server.url)
            token = person.token(confirm_path)
            barrier.wait(timeout=30)
            return person.session.post(
                server.url + confirm_path, data={"csrf_token": token}, allow_redirects=False, timeout=30
            ).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            assert set(pool.map(press, range(10))) <= {303}
        letters = smtp.wait_for(3, timeout=30)[1:]
        time.sleep(1)  # a second copy would have come by now
        assert sorted(m["To"] for m in smtp.messages[1:]) == ["mayor@example.org", "ward1@example.org"]
        assert all(m["Reply-To"] == "writer@example.ca" for m in letters)
    finally:
        server.stop()
