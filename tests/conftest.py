"""Fixtures: an app on a migrated database (SQLite, or PostgreSQL from TEST_DATABASE_URL), a real
SMTP server receiving the mail, a logged-in organizer, a Redis for the limiter and a fake Represent
API. Plain helpers are in helpers.py, the servers in servers.py and represent_fake.py."""

import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from helpers import TEST_DATABASE_URL, add_organizer, empty_tables, log_in, settings
from represent_fake import RepresentFake
from servers import SMTPServer

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


# --- Represent ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def represent_server():
    server = RepresentFake().start()
    yield server
    server.stop()


@pytest.fixture
def represent(represent_server):
    """The fake Represent API (represent_fake.py), answering, with no postal codes yet."""
    represent_server.reset()
    yield represent_server
    represent_server.reset()


# --- organizers ------------------------------------------------------------------------------


@pytest.fixture
def organizer(app):
    return add_organizer(app)


@pytest.fixture
def admin_client(app, organizer):
    client = app.test_client()
    assert log_in(client).status_code == 303
    return client


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def shared_redis():
    """A Redis database of its own for the limiter, empty at the start and the end of a test."""
    url = "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.ConnectionError:
        pytest.fail("Redis is not answering on 127.0.0.1:6379 (.ci/run starts it)")
    yield url
    client.flushdb()
