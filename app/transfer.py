"""Copy every table from the app's database to another, empty one (SQLite to PostgreSQL or back).

The schema on the target comes from the migrations, as for any new database. The rows
are read in one snapshot of the source and written in one transaction on the target,
so a copy that fails part way leaves the target with its schema and no rows, ready for
another try. Ids are kept exactly (links carry signature ids) and each table's id
counter is set past the highest id the source ever handed out, so an id that belonged
to an erased signature is never given to someone else.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import Connection, Engine, Table, delete, func, insert, inspect, select, text, tuple_
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from .campaigns import each_campaign
from .config import database_url
from .extensions import db, migrate
from .kinds import kind_for
from .models import CountShard, Signature, SignatureTally

BATCH_SIZE = 5000
# The migrations create these rows (the count shards, at zero); the source's rows replace them.
SEEDED_BY_MIGRATIONS = CountShard.__table__
# The target's triggers fill the tallies as signatures arrive; copied last, the source's
# rows replace theirs, so the target holds exactly what the source held.
KEPT_BY_TRIGGERS = SignatureTally.__table__
REPLACED_ON_TARGET = (SEEDED_BY_MIGRATIONS, KEPT_BY_TRIGGERS)


class TransferError(RuntimeError):
    """The copy cannot start, or did not come out exact (then nothing of it was kept)."""


@dataclass(frozen=True)
class CopiedTable:
    """One table's rows on the target, and the id its next new row will get (None: no counter)."""

    name: str
    rows: int
    next_id: int | None


@dataclass(frozen=True)
class CopyReport:
    """What the target holds once the copy is committed."""

    tables: list[CopiedTable]
    revision: str
    count: int
    confirmed: int
    counted: int  # the signatures the campaign's kind counts: what `count` should equal


def display_url(url: str) -> str:
    """A database URL fit for printing: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def copy_database(
    target: str, batch_size: int = BATCH_SIZE, progress: Callable[[str], None] = lambda _line: None
) -> CopyReport:
    """Copy the app's database into the empty database at `target`; raise TransferError if it cannot."""
    if not target.strip():
        raise TransferError("Name the target database, for example postgresql://user:password@host/petition.")
    target_url = database_url(target, Path(current_app.instance_path))
    source_engine = db.engine
    directory = current_app.extensions["migrate"].directory
    try:
        target_app = _bare_app(target_url, current_app.instance_path, directory)
    except ArgumentError as error:  # includes NoSuchModuleError: an unknown kind of database
        raise TransferError(f"{target!r} is not a database URL SQLAlchemy can open ({error}).") from None
    with target_app.app_context():
        target_engine = db.engine
    try:
        if _location(target_engine.url) == _location(source_engine.url):
            raise TransferError("The target is the app's own database (DATABASE_URL); name another one.")
        head = ScriptDirectory(directory).get_current_head()
        with source_engine.connect() as source:
            _check_source_revision(source, head)
        try:
            _refuse_non_empty(target_engine)
        except OperationalError as error:
            raise TransferError(f"Cannot open the target database: {error.orig}") from None
        progress(f"Building the schema on the target with the migrations (revision {head}).")
        try:
            with target_app.app_context():
                upgrade(directory=directory)
        except (CommandError, DBAPIError) as error:
            raise TransferError(f"The migrations failed on the target: {error}") from None
        tables, tally = _copy_rows(source_engine, target_engine, batch_size, progress)
    finally:
        target_engine.dispose()
    return CopyReport(tables=tables, revision=head, **tally)


def _bare_app(url: str, instance_path: str, directory: str) -> Flask:
    """An app that knows only the target database and the migrations: what `upgrade` needs."""
    app = Flask(__name__, instance_path=instance_path)
    # Relative SQLite paths then land in the instance folder, as they do for DATABASE_URL.
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(app)
    migrate.init_app(app, db, directory=directory)
    return app


def _location(url: URL) -> tuple:
    """Which database a URL reaches, whoever logs in and through whichever driver."""
    return url.get_backend_name(), url.host, url.port, url.database


def _check_source_revision(source: Connection, head: str) -> None:
    current = MigrationContext.configure(source).get_current_revision()
    if current != head:
        raise TransferError(
            f"The app's database is at migration {current or 'none'}, not {head}: "
            "run `flask --app wsgi db upgrade` on it first."
        )


def _refuse_non_empty(engine: Engine) -> None:
    """Stop before writing anything when the target holds any data."""
    with engine.connect() as target:
        existing = set(inspect(target).get_table_names())
        app_tables = [table for table in db.metadata.sorted_tables if table.name in existing]
        if app_tables and "alembic_version" not in existing:
            raise TransferError(
                "The target has some of the app's tables but no migration history "
                "(alembic_version); copy into a new, empty database."
            )
        filled = [table.name for table in app_tables if _data_rows(target, table)]
    if filled:
        raise TransferError(
            "The target database is not empty (rows in " + ", ".join(filled) + "); "
            "nothing was copied. Copy into a new, empty database."
        )


def _data_rows(connection: Connection, table: Table) -> int:
    query = select(func.count()).select_from(table)
    if table is SEEDED_BY_MIGRATIONS:
        query = query.where(CountShard.count != 0)
    elif table is KEPT_BY_TRIGGERS:
        query = query.where((SignatureTally.signed != 0) | (SignatureTally.confirmed != 0))
    return connection.scalar(query)


def _tables_in_copy_order() -> list[Table]:
    """Parents before children, and the tallies after the signatures that fill them."""
    tables = db.metadata.sorted_tables
    return [table for table in tables if table is not KEPT_BY_TRIGGERS] + [KEPT_BY_TRIGGERS]


def _copy_rows(
    source_engine: Engine, target_engine: Engine, batch_size: int, progress: Callable[[str], None]
) -> tuple[list[CopiedTable], dict]:
    """Copy, set the id counters and compare the counts, all in one transaction on the target."""
    with source_engine.connect() as source, target_engine.connect() as target:
        if source.dialect.name == "postgresql":
            # One snapshot for every table: rows written meanwhile are all missing, never half.
            source = source.execution_options(isolation_level="REPEATABLE READ")
        with source.begin(), target.begin():
            copied = []
            for table in _tables_in_copy_order():
                try:
                    rows = _copy_table(source, target, table, batch_size, progress)
                except DBAPIError as error:  # a row the target's constraints refuse, or a lost connection
                    # Only the first line: the database's details may quote a signer's data.
                    reason = str(error.orig).splitlines()[0]
                    raise TransferError(
                        f"Copying {table.name} failed, so nothing was kept: {reason}"
                    ) from None
                next_id = _carry_id_counter(source, target, table)
                copied.append(CopiedTable(table.name, rows, next_id))
            _compare_counts(source, target)
            tally = _tally(target)
    return copied, tally


def _copy_table(
    source: Connection, target: Connection, table: Table, batch_size: int, progress: Callable[[str], None]
) -> int:
    """Copy one table in primary-key order, a batch at a time; how many rows."""
    total = source.scalar(select(func.count()).select_from(table))
    progress(f"Copying {table.name}: {total:,} rows.")
    if table in REPLACED_ON_TARGET:
        target.execute(delete(table))
    key = list(table.primary_key.columns)
    query = select(table).order_by(*key).limit(batch_size)
    copied, last = 0, None
    while True:
        # Keyset paging: each batch starts after the last key, however large the table.
        page = source.execute(query if last is None else query.where(_after(key, last))).all()
        if not page:
            return copied
        target.execute(insert(table), [row._asdict() for row in page])
        copied += len(page)
        last = tuple(page[-1]._mapping[column] for column in key)
        if total > batch_size:
            progress(f"  {table.name}: {copied:,} of {total:,}")
        if len(page) < batch_size:
            return copied


def _after(key: list, last: tuple):
    return key[0] > last[0] if len(key) == 1 else tuple_(*key) > tuple_(*last)


def _carry_id_counter(source: Connection, target: Connection, table: Table) -> int | None:
    """Set the target's id counter past every id the source handed out; the next id, or None."""
    column = table.autoincrement_column
    if column is None:
        return None
    high_water = max(_counter_value(source, table), source.scalar(select(func.max(column))) or 0)
    if target.dialect.name == "postgresql":
        sequence = _serial_sequence(target, table)
        if sequence is not None:
            # Called with is_called false, nextval returns 1: the empty table's first id.
            target.execute(
                text("SELECT setval(CAST(:sequence AS regclass), :value, :called)"),
                {"sequence": sequence, "value": max(high_water, 1), "called": high_water > 0},
            )
    elif target.dialect.name == "sqlite" and _sqlite_autoincrement(table):
        target.execute(text("DELETE FROM sqlite_sequence WHERE name = :table"), {"table": table.name})
        target.execute(
            text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :value)"),
            {"table": table.name, "value": high_water},
        )
    else:
        # Without a counter the database takes max(id) + 1, which the copied rows already fix.
        high_water = target.scalar(select(func.max(column))) or 0
    return high_water + 1


def _counter_value(connection: Connection, table: Table) -> int:
    """The last id the database's counter handed out (0 if none): above max(id) after deletions."""
    if connection.dialect.name == "postgresql":
        sequence = _serial_sequence(connection, table)
        if sequence is not None:
            last_value, is_called = connection.execute(
                text(f"SELECT last_value, is_called FROM {sequence}")
            ).one()
            return last_value if is_called else 0
    elif connection.dialect.name == "sqlite" and _sqlite_autoincrement(table):
        return (
            connection.scalar(
                text("SELECT seq FROM sqlite_sequence WHERE name = :table"), {"table": table.name}
            )
            or 0
        )
    return 0


def _serial_sequence(connection: Connection, table: Table) -> str | None:
    # The name comes back quoted and schema-qualified from PostgreSQL itself.
    return connection.scalar(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table.name, "column": table.autoincrement_column.name},
    )


def _sqlite_autoincrement(table: Table) -> bool:
    return bool(table.dialect_options["sqlite"]["autoincrement"])


def _compare_counts(source: Connection, target: Connection) -> None:
    """Fail (and so roll the copy back) unless every table and the tally match the source."""
    differences = []
    for table in db.metadata.sorted_tables:
        query = select(func.count()).select_from(table)
        expected, found = source.scalar(query), target.scalar(query)
        if expected != found:
            differences.append(f"{table.name}: {expected:,} rows in the source, {found:,} copied")
    expected, found = _tally(source)["count"], _tally(target)["count"]
    if expected != found:
        differences.append(f"count: {expected:,} in the source, {found:,} copied")
    if differences:
        raise TransferError(
            "The copy does not match the source, so none of it was kept: " + "; ".join(differences) + "."
        )


def _tally(connection: Connection) -> dict:
    """The counts the shards hold, the confirmed signatures, and those each campaign's kind
    counts (an open letter counts its listed signatories), which the counts should equal; all
    summed over the campaigns."""
    counted = sum(
        connection.scalar(
            select(func.count()).select_from(Signature).where(kind_for(campaign).counted(campaign.id))
        )
        for campaign in each_campaign()
    )
    return {
        "count": connection.scalar(select(func.coalesce(func.sum(CountShard.count), 0))),
        "confirmed": connection.scalar(select(func.count()).where(Signature.confirmed)),
        "counted": counted,
    }
