"""Fixtures: an app on a migrated database (SQLite, or PostgreSQL from TEST_DATABASE_URL),
a real SMTP server receiving the mail, and helpers that use the site as a browser would."""

import asyncio
import os
import re
import socket
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, text, update

from app import create_app
from app.accounts import create_organizer
from app.extensions import db
from app.mail import deliver_due
from app.models import AuditEvent, ConsentWording, CountShard, Organizer, OutboxMessage, Signature

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
PUBLIC_URL = "https://petition.test"
# Production refuses keys shorter than 32 characters; every test app and server uses this one.
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-production"


# --- the database -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database with the schema built by the real migrations, once per run."""
    if TEST_DATABASE_URL:
        url = TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        with engine.begin() as connection:  # the tests own this database: start it empty
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'petition.db'}"
    app = create_app(settings(url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def settings(database_url: str, instance_path, **extra) -> dict:
    """Production-like settings for one test app."""
    return {
        "TESTING": True,
        "DEVELOPMENT": False,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PUBLIC_URL": PUBLIC_URL,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SESSION_COOKIE_SECURE": False,  # the test client speaks plain HTTP
        "MAIL_SERVER": None,
        "MAIL_IN_WEB": False,  # tests deliver explicitly, or start a deliverer themselves
        "MAIL_TIMEOUT": 5,
        # The limiter runs in every test, with room for tests that sign dozens of times;
        # the rate-limit tests set their own, low limits.
        **{f"RATELIMIT_{name}": "10000 per minute" for name in ("SIGN", "RESEND", "CONFIRM", "LOGIN")},
        **extra,
    }


def empty_tables() -> None:
    """Leave the database as the migrations made it."""
    for model in (OutboxMessage, Signature, ConsentWording, Organizer, AuditEvent):
        db.session.execute(delete(model))
    db.session.execute(update(CountShard).values(count=0))
    db.session.commit()


@pytest.fixture
def make_app(database_url, smtp, tmp_path):
    """Build apps on the test database and the SMTP sink; rows are wiped afterwards."""
    built = []

    def build(**extra):
        config = settings(
            database_url,
            tmp_path / "instance",
            **{"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, **extra},
        )
        app = create_app(config)
        app.instance_path = str(tmp_path / "instance")
        built.append(app)
        return app

    yield build
    for app in built:
        deliverer = app.extensions.get("deliverer")
        if deliverer is not None:
            deliverer.stop()
    on_test_database = [app for app in built if app.config["SQLALCHEMY_DATABASE_URI"] == database_url]
    if on_test_database:
        with on_test_database[0].app_context():
            empty_tables()
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- mail ------------------------------------------------------------------------------


class Sink:
    """An aiosmtpd handler that keeps what it receives; `reply` makes it refuse every message,
    `refuse` ({address: reply}) refuses one recipient, `delay` makes it slow to answer DATA."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.reply: str | None = None
        self.refuse: dict[str, str] = {}
        self.delay = 0.0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
        self.reply, self.refuse, self.delay = None, {}, 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply:
            return self.reply
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    """A real SMTP server on a free port that can be stopped and started again; with
    `smtputf8=False` it is a relay that cannot take non-ASCII addresses."""

    def __init__(self, smtputf8: bool = True):
        self.sink = Sink()
        self.port = free_port()
        self.smtputf8 = smtputf8
        self.start()

    def stop(self):
        self.controller.stop()

    def start(self):
        self.controller = Controller(
            self.sink, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.sink.received()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Poll until `count` messages have arrived (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages
            if len(messages) >= count:
                return messages
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server):
    smtp_server.sink.reset()
    yield smtp_server
    smtp_server.sink.reset()


@pytest.fixture
def ascii_relay():
    """A second SMTP server that, like many relays, has no SMTPUTF8."""
    server = SMTPServer(smtputf8=False)
    yield server
    server.stop()


def deliver(app, now=None) -> int:
    """Run the real deliverer until nothing more is due; how many were sent."""
    total = 0
    with app.app_context():
        while True:
            sent = deliver_due(now)
            total += sent
            if not sent:
                return total


# --- the site as a browser uses it -------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token from the form on a page, as a browser would submit it."""
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no form on {path}"
    return match.group(1)


def sign(client, path: str = "/", **fields):
    """Fill in and send the sign form on the campaign page."""
    action = "/sign" + (path[1:] if path.startswith("/?") else "")
    data = {
        "name": "Ana Tremblay",
        "email": "ana@example.ca",
        "postal_code": "K1A 0B1",
        "country": "CA",
        "csrf_token": csrf_token(client, path),
        **fields,
    }
    return client.post(action, data={k: v for k, v in data.items() if v is not None})


def text_part(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def link_in(message: EmailMessage, path_prefix: str, base: str = PUBLIC_URL) -> str:
    """The path of the first link in the text part that starts with base + prefix."""
    match = re.search(re.escape(base) + r"(" + re.escape(path_prefix) + r"[^\s]+)", text_part(message))
    assert match, f"no {path_prefix} link in:\n{text_part(message)}"
    return match.group(1)


def press_button(client, path: str):
    """Open a one-button page and press its button."""
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def signature_rows(app) -> list[Signature]:
    with app.app_context():
        return list(db.session.scalars(db.select(Signature).order_by(Signature.id)))


def outbox_rows(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))


# --- organizers ------------------------------------------------------------------------------

ORGANIZER_EMAIL = "organizer@example.org"
ORGANIZER_PASSWORD = "correct horse battery staple"


def add_organizer(app, email=ORGANIZER_EMAIL, password=ORGANIZER_PASSWORD):
    with app.app_context():
        return create_organizer(email, password)


def log_in(client, email=ORGANIZER_EMAIL, password=ORGANIZER_PASSWORD, next_path=None):
    """Submit the login form as an organizer would."""
    path = "/admin/login" + (f"?next={next_path}" if next_path else "")
    return client.post(
        path, data={"email": email, "password": password, "csrf_token": csrf_token(client, "/admin/login")}
    )


@pytest.fixture
def organizer(app):
    return add_organizer(app)


@pytest.fixture
def admin_client(app, organizer):
    client = app.test_client()
    assert log_in(client).status_code == 303
    return client
