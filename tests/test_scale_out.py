"""Scale-out: two gunicorn instances on one database and one Redis behave as one site, and
several `mail worker` processes share one outbox, each message sent once."""

import signal
from collections import Counter
from pathlib import Path

import pytest
import requests

from helpers import (
    ORGANIZER_EMAIL,
    ORGANIZER_PASSWORD,
    PUBLIC_URL,
    add_organizer,
    free_port,
    link_in,
    sign,
    wait_until,
)
from servers import Gunicorn, Visitor, start_mail_worker

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_instances(app, smtp, database_url, shared_redis):
    env = {
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_IN_WEB": "1",
        "RATELIMIT_STORAGE_URI": shared_redis,
        "RATELIMIT_SIGN": "6 per minute",
        "PUBLIC_URL": "http://petition.test",
    }
    first = Gunicorn(free_port(), 2, env)
    second = Gunicorn(free_port(), 2, env)
    yield first, second
    first.stop()
    second.stop()


def test_a_form_from_one_instance_is_accepted_by_the_other(two_instances, app):
    first, second = two_instances
    visitor = Visitor(first.url)
    token = visitor.token()
    response = visitor.session.post(
        second.url + "/sign",
        allow_redirects=False,
        timeout=30,
        data={
            "name": "Across",
            "email": "across@example.ca",
            "postal_code": "K1A 0B1",
            "country": "CA",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303


def test_an_organizer_logged_in_on_one_instance_is_logged_in_on_the_other(two_instances, app):
    first, second = two_instances
    add_organizer(app)
    visitor = Visitor(first.url)
    response = visitor.post(
        "/admin/login", {"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD}, token_from="/admin/login"
    )
    assert response.status_code == 303
    dashboard = visitor.session.get(second.url + "/admin/", allow_redirects=False, timeout=30)
    assert dashboard.status_code == 200 and "Dashboard" in dashboard.text


def test_rate_limits_count_requests_to_both_instances_together(two_instances):
    first, second = two_instances
    statuses = Counter()
    for number in range(10):
        server = (first, second)[number % 2]
        statuses[Visitor(server.url).sign(f"both{number}@example.ca").status_code] += 1
    assert statuses == Counter({303: 6, 429: 4})


def test_a_confirmation_on_one_instance_moves_the_count_on_the_other(two_instances, smtp):
    first, second = two_instances
    assert Visitor(first.url).sign("counted@example.ca").status_code == 303
    [message] = smtp.wait_for(1, timeout=30)
    path = link_in(message, "/confirm/", base="http://petition.test")
    assert Visitor(second.url).post(path, {}).status_code == 303
    wait_until(lambda: requests.get(first.url + "/api/count", timeout=5).json()["count"] == 1, timeout=10)


def test_two_mail_workers_share_one_outbox_and_send_each_message_once(app, client, smtp, database_url):
    for number in range(30):
        sign(client, email=f"shared{number}@example.ca")
    workers = [start_mail_worker(database_url, smtp.port, PUBLIC_URL, poll=0.05) for _ in range(2)]
    try:
        messages = smtp.wait_for(30, timeout=60)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.communicate(timeout=30)
    recipients = Counter(message["To"] for message in messages)
    assert len(recipients) == 30 and max(recipients.values()) == 1
