"""`flask --app wsgi mail worker` as its own process: it delivers, and stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import PUBLIC_URL, TEST_SECRET_KEY, sign

ROOT = Path(__file__).resolve().parent.parent


def test_mail_worker_process_delivers_the_outbox_and_stops_on_sigterm(app, client, smtp, database_url):
    for number in range(3):
        sign(client, email=f"worker{number}@example.ca")
    env = {**os.environ, "SECRET_KEY": TEST_SECRET_KEY, "PUBLIC_URL": PUBLIC_URL,
           "DATABASE_URL": database_url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}
    env.pop("FLASK_DEBUG", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "worker", "--poll", "0.1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        messages = smtp.wait_for(3, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert sorted(m["To"] for m in messages) == [f"worker{n}@example.ca" for n in range(3)]
    assert worker.returncode == 0, output
    assert "stopped" in output
    for message in messages:
        assert "ana" not in output.lower() and message["To"] not in output, "no personal data in the worker's output"


def test_mail_worker_refuses_to_start_without_anywhere_to_send(database_url):
    env = {**os.environ, "SECRET_KEY": TEST_SECRET_KEY, "PUBLIC_URL": PUBLIC_URL, "DATABASE_URL": database_url}
    env.pop("FLASK_DEBUG", None)
    env.pop("MAIL_SERVER", None)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "mail", "worker"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "MAIL_SERVER is not set" in result.stderr
