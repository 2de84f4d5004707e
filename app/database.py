"""Database plumbing: SQLite settings, write transactions and the commit-or-rollback helper."""

from contextlib import contextmanager
from collections.abc import Iterator

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

def init_database(app: Flask) -> None:
    """Tune each engine for its dialect once the extension has created it."""
    with app.app_context():
        engine = db.engine
    wait_ms = int(app.config["DATABASE_LOCK_TIMEOUT_MS"])
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine, wait_ms)
    elif engine.dialect.name == "postgresql":
        _tune_postgresql(engine, wait_ms)


def _tune_postgresql(engine: Engine, lock_timeout_ms: int) -> None:
    # A request waits this long for a row or table lock; then it gets a 503, never hangs.
    @event.listens_for(engine, "connect")
    def configure(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {lock_timeout_ms}")
        dbapi_connection.commit()


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # pysqlite opens transactions lazily and only before writes; taking over BEGIN
    # lets write transactions lock up front (BEGIN IMMEDIATE), so two signers never
    # deadlock on a read lock upgrade and the busy timeout applies instead.
    @event.listens_for(engine, "connect")
    def configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # A writer waits this long for another; after that the request gets a 503, not a 500.
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection):
        if connection.get_execution_options().get("write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run the block in one write transaction: commit on success, roll back on any error.

    Services own their transactions; whatever the session held before is finished
    first so the write lock is taken at the start (SQLite) and nothing half done
    survives an exception.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"write": True})
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
