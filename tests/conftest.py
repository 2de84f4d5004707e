"""Fixtures: an app on a migrated database (SQLite, or PostgreSQL from TEST_DATABASE_URL), a real
SMTP server receiving the mail, a logged-in organizer, a Redis for the limiter and a fake Represent
API. Plain helpers are in helpers.py, the servers in servers.py and represent_fake.py."""

import shutil

import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.extensions import db
from helpers import (
    OPEN_LETTER,
    TEST_DATABASE_URL,
    add_organizer,
    empty_tables,
    log_in,
    run_outside_transaction,
    settings,
    wait_until,
)
from represent_fake import RepresentFake
from servers import RedisServer, SMTPServer

# --- the order ------------------------------------------------------------------------------

# Modules whose tests run for seconds (fuzzers, gunicorn, PDFs, fresh clones, a live page):
# collected first, so that pytest-xdist hands them out at the start and its workers finish
# together, instead of one worker starting a 20-second fuzzer when the others are done.
SLOW_FIRST = (
    "test_properties",
    "test_concurrency",
    "test_scale_out",
    "test_letter_pdf",
    "test_deployment",
    "test_letter_browser",
)


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.module.__name__ not in SLOW_FIRST)


# --- the database -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def worker_id(request):
    """pytest-xdist's name for this process ("gw0", "gw1"...), or "master" when it runs alone
    (as xdist's own fixture of that name says, which is missing under `-p no:xdist`)."""
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id):
    """A database with the schema built by the real migrations, once per run and per xdist worker
    (`worker_id`). On PostgreSQL each worker makes a database of its own beside
    TEST_DATABASE_URL's, and drops it at the end."""
    worker_database = None
    if TEST_DATABASE_URL:
        url = make_url(TEST_DATABASE_URL).set(drivername="postgresql+psycopg")
        if worker_id != "master":
            worker_database = f"{url.database}_{worker_id}"
            run_outside_transaction(url, f'DROP DATABASE IF EXISTS "{worker_database}" WITH (FORCE)')
            run_outside_transaction(url, f'CREATE DATABASE "{worker_database}"')
        url = url.set(database=worker_database or url.database).render_as_string(hide_password=False)
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
    yield url
    if worker_database:
        drop = f'DROP DATABASE "{worker_database}" WITH (FORCE)'
        run_outside_transaction(make_url(TEST_DATABASE_URL), drop)


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
        deliverer = app.extensions.get("jobs")
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


@pytest.fixture
def letter_app(make_app):
    """An app running the test open letter (tests/campaigns/open-letter.toml)."""
    return make_app(CAMPAIGN_FILE=str(OPEN_LETTER))


@pytest.fixture
def letter_organizer(letter_app):
    """A client logged in as an organizer of the open letter."""
    add_organizer(letter_app)
    client = letter_app.test_client()
    assert log_in(client).status_code == 303
    return client


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory, worker_id):
    """A Redis database for this worker alone: a redis-server of its own when the machine has the
    binary (the README's apt line), else one of the machine's Redis databases (15, 14, ...)."""
    if shutil.which("redis-server"):
        server = RedisServer(tmp_path_factory.mktemp("redis"))
        yield server.url + "/0"
        server.stop()
        return
    index = int(worker_id.removeprefix("gw")) if worker_id != "master" else 0
    if index >= 8:
        pytest.fail("without redis-server, at most 8 workers share the machine's Redis: use -n 8")
    yield f"redis://127.0.0.1:6379/{15 - index}"


@pytest.fixture
def shared_redis(redis_url):
    """The worker's Redis database for the limiter, empty at the start and the end of a test."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1)
    try:
        wait_until(client.ping, timeout=10, ignoring=(redis.ConnectionError,))
    except AssertionError:
        pytest.fail(f"Redis is not answering at {redis_url} (.ci/run starts it; or install redis-server)")
    client.flushdb()
    yield redis_url
    client.flushdb()
    client.close()
