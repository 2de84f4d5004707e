"""`flask --app wsgi mail worker` as its own process: it delivers, and stops cleanly on SIGTERM,
giving back what it holds."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from helpers import (
    PUBLIC_URL,
    TEST_SECRET_KEY,
    assert_finished_one_and_released_the_rest,
    sign,
    wait_until_a_message_is_in_hand,
)
from servers import start_mail_worker

ROOT = Path(__file__).resolve().parent.parent


def test_mail_worker_process_delivers_the_outbox_and_stops_on_sigterm(app, client, smtp, database_url):
    for number in range(3):
        sign(client, email=f"worker{number}@example.ca")
    worker = start_mail_worker(database_url, smtp.port, PUBLIC_URL)
    try:
        messages = smtp.wait_for(3, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert sorted(m["To"] for m in messages) == [f"worker{n}@example.ca" for n in range(3)]
    assert worker.returncode == 0, output
    assert "stopped" in output
    for message in messages:
        assert "ana" not in output.lower() and message["To"] not in output, (
            "no personal data in the worker's output"
        )


def test_mail_worker_stopped_mid_batch_finishes_the_message_in_hand_and_releases_the_rest(
    app, client, smtp, database_url
):
    for number in range(6):
        sign(client, email=f"held{number}@example.ca")
    smtp.sink.delay = 1
    worker = start_mail_worker(database_url, smtp.port, PUBLIC_URL)
    try:
        wait_until_a_message_is_in_hand(app)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert_finished_one_and_released_the_rest(app)


def test_mail_worker_refuses_to_start_without_anywhere_to_send(database_url):
    env = {
        **os.environ,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PUBLIC_URL": PUBLIC_URL,
        "DATABASE_URL": database_url,
    }
    env.pop("FLASK_DEBUG", None)
    env.pop("MAIL_SERVER", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "MAIL_SERVER is not set" in result.stderr
