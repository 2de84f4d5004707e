"""Database plumbing: SQLite settings, write transactions and the commit-or-rollback helper."""

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import cache

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from .extensions import db

log = logging.getLogger(__name__)
_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}


@cache
def insert_ignoring_duplicates_on(dialect: str, table):
    """INSERT ... ON CONFLICT DO NOTHING on `table` for the named database, built once."""
    return _DIALECTS[dialect].insert(table).on_conflict_do_nothing()


def insert_ignoring_duplicates(model):
    """INSERT ... ON CONFLICT DO NOTHING for this database: a duplicate is skipped, not an error.

    Built once per table and database: the columns come with the parameters at execution.
    """
    table = getattr(model, "__table__", model)
    return insert_ignoring_duplicates_on(db.session.get_bind().dialect.name, table)


def init_database(app: Flask) -> None:
    """Tune each engine for its dialect once the extension has created it."""
    with app.app_context():
        engine = db.engine
    wait_ms = int(app.config["DATABASE_LOCK_TIMEOUT_MS"])
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine, wait_ms)
        if engine.url.database not in (None, "", ":memory:"):
            app.extensions["sqlite_write_queue"] = WriteQueue(engine.url.database, wait_ms / 1000)
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
        # Deleted rows are overwritten with zeros, not just unlinked: an erased signer's
        # name must not survive in free pages of the file.
        cursor.execute("PRAGMA secure_delete = ON")
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


class WriteQueue:
    """Lines SQLite writers up instead of letting them poll.

    SQLite takes one writer at a time, and a writer that finds the lock taken sleeps
    1, 2, 5 ... 100 ms before it looks again: under a burst most writers sleep while the
    lock is free (356 signatures a second on 2 cores). Here threads queue on a lock in
    their process and processes on an flock beside the database file, and the kernel
    wakes the next one as soon as the lock is released. Holders are our own short
    transactions, so waiting is bounded; a thread that cannot get its turn in time gets
    the same answer as a busy database (503).
    """

    def __init__(self, database_path: str, timeout: float):
        self.path = database_path + ".write-lock"
        self.timeout = timeout
        self._thread_lock = threading.Lock()
        self._descriptor_of: tuple[int, int] | None = None  # (process id, file descriptor)

    def _descriptor(self) -> int:
        pid = os.getpid()
        if self._descriptor_of is None or self._descriptor_of[0] != pid:  # a forked worker opens its own
            self._descriptor_of = (pid, os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        return self._descriptor_of[1]

    def __del__(self):
        if self._descriptor_of is not None and self._descriptor_of[0] == os.getpid():
            os.close(self._descriptor_of[1])

    @contextmanager
    def turn(self) -> Iterator[None]:
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise OperationalError("waiting for the SQLite write queue", {}, TimeoutError())
        try:
            descriptor = self._descriptor()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def checkpoint_erasure() -> None:
    """After an erasure on SQLite: copy the write-ahead log into the database and empty it.

    The WAL still holds earlier versions of the erased rows' pages until a checkpoint;
    TRUNCATE copies the log's pages (with the rows zeroed by secure_delete) into the
    database and truncates the -wal file. It runs outside any transaction, and waits for
    readers as a writer would; a checkpoint that could not finish is logged, and the next
    one completes it.
    """
    if db.engine.dialect.name != "sqlite" or db.engine.url.database in (None, "", ":memory:"):
        return
    connection = db.engine.raw_connection()  # the driver's own: SQLAlchemy would open a transaction
    try:
        cursor = connection.cursor()
        busy, _log_pages, _copied = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    if busy:
        log.warning("SQLite checkpoint after an erasure could not finish: readers held it back")


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
    queue = current_app.extensions.get("sqlite_write_queue")
    with queue.turn() if queue else nullcontext():
        session.connection(execution_options={"write": True})
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
