"""The CSV export: the contract's columns, filters, streaming in batches, and safe cells."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce

from sqlalchemy import Boolean, Integer, Select, String, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from .audit import EXPORT, record_event, set_event_rows
from .campaign import current_campaign
from .database import write_transaction
from .extensions import db
from .kinds import kind_for
from .models import Campaign, Signature, UTCDateTime

# The contract's columns, each a column of `signatures` whose type decides its cell (see
# _cell); a kind's export_columns follow them (columns too, or its export_cells()).
COLUMNS = (
    "id",
    "name",
    "email",
    "postal_code",
    "country",
    "comment",
    "public",
    "updates",
    "language",
    "source",
    "signed_at",
    "confirmed_at",
)
# An export of every campaign at once: the contract's columns, then the campaign's slug.
ACROSS_CAMPAIGNS = (*COLUMNS, "campaign")
STATUSES = ("confirmed", "unconfirmed", "all")
BATCH_ROWS = 2000
BOM = "\ufeff"
EOL = "\r\n"
# A spreadsheet treats a cell starting with one of these as a formula (or a DDE call).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class FilterError(ValueError):
    """A filter value the export cannot use; the message says which and why."""


@dataclass(frozen=True)
class ExportFilters:
    """What to export: the contract's query parameters, validated."""

    status: str = "confirmed"
    since: date | None = None
    until: date | None = None
    updates_only: bool = False
    excel: bool = False

    def describe(self) -> str:
        """For the audit log and the file name: the filters, no personal data."""
        parts = [f"status={self.status}"]
        if self.since:
            parts.append(f"since={self.since.isoformat()}")
        if self.until:
            parts.append(f"until={self.until.isoformat()}")
        if self.updates_only:
            parts.append("updates=1")
        if self.excel:
            parts.append("excel=1")
        return " ".join(parts)

    def filename(self, today: date) -> str:
        """The attachment name the server chooses."""
        name = f"signatures-{self.status}"
        if self.updates_only:
            name += "-updates"
        return f"{name}-{today.isoformat()}.csv"


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name} must be a date like 2026-01-31") from None


def _parse_flag(value: str | None, name: str) -> bool:
    if value in (None, "", "0"):
        return False
    if value == "1":
        return True
    raise FilterError(f"{name} must be 1 or 0")


def parse_filters(args) -> ExportFilters:
    """Validate status, since, until, updates and excel from a mapping of strings."""
    status = args.get("status") or "confirmed"
    if status not in STATUSES:
        raise FilterError("status must be confirmed, unconfirmed or all")
    filters = ExportFilters(
        status=status,
        since=_parse_date(args.get("since"), "since"),
        until=_parse_date(args.get("until"), "until"),
        updates_only=_parse_flag(args.get("updates"), "updates"),
        excel=_parse_flag(args.get("excel"), "excel"),
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise FilterError("since must not be after until")
    if filters.until == date.max:  # inclusive: the query needs the next day, which does not exist
        raise FilterError(f"until must be a date before {date.max.isoformat()}")
    return filters


class iso_utc(FunctionElement):
    """A UTC timestamp column as ISO 8601 text ending in Z, formatted by the database."""

    type = String()
    inherit_cache = True


class needs_quotes(FunctionElement):
    """True when a text cell holds a double quote, a comma or a line break (RFC 4180)."""

    type = Boolean()
    inherit_cache = True


class starts_like_formula(FunctionElement):
    """True when a text cell starts with a character spreadsheets treat as a formula."""

    type = Boolean()
    inherit_cache = True


FORMULA_CODES = ", ".join(str(ord(character)) for character in FORMULA_STARTS)


@compiles(iso_utc, "sqlite")
def _iso_utc_sqlite(element, compiler, **kw):
    # SQLite holds 'YYYY-MM-DD HH:MM:SS.ffffff'; slicing it is several times cheaper than strftime.
    column = compiler.process(element.clauses, **kw)
    return f"(substr({column}, 1, 10) || 'T' || substr({column}, 12, 8) || 'Z')"


@compiles(iso_utc, "postgresql")
def _iso_utc_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f'to_char({column}, \'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'


@compiles(needs_quotes, "sqlite")
def _needs_quotes_sqlite(element, compiler, **kw):
    pattern = compiler.process(literal('*[",\r\n]*'), **kw)
    return f"({compiler.process(element.clauses, **kw)} GLOB {pattern})"


@compiles(needs_quotes, "postgresql")
def _needs_quotes_postgresql(element, compiler, **kw):
    pattern = compiler.process(literal('[",\r\n]'), **kw)
    return f"({compiler.process(element.clauses, **kw)} ~ {pattern})"


@compiles(starts_like_formula, "sqlite")
def _starts_like_formula_sqlite(element, compiler, **kw):
    return f"(unicode({compiler.process(element.clauses, **kw)}) IN ({FORMULA_CODES}))"


@compiles(starts_like_formula, "postgresql")
def _starts_like_formula_postgresql(element, compiler, **kw):
    return f"(ascii({compiler.process(element.clauses, **kw)}) IN ({FORMULA_CODES}))"


def _text_cell(column) -> ColumnElement:
    """A text cell, quoted only when RFC 4180 needs it (as Python's csv module does), and
    prefixed with ' when a spreadsheet would run it as a formula.

    Every branch names the column itself: SQLite evaluates a nested expression again at
    each place it appears, which made a nested version twice as slow.
    """
    formula_mark = case((starts_like_formula(column), literal("'")), else_=literal(""))
    return case(
        (needs_quotes(column), literal('"') + formula_mark + func.replace(column, '"', '""') + literal('"')),
        (starts_like_formula(column), literal("'") + column),
        else_=column,
    )


def _cell(name: str, expressions: dict) -> ColumnElement:
    """One export column as the exact text of its CSV cell, chosen by the column's type.

    Anything not a flag, a time or a number is text, quoted and guarded against formulas:
    a new column can never reach a spreadsheet raw. A name in `expressions` (a kind's
    export_cells) is that expression, typed like a column.
    """
    column = expressions[name] if name in expressions else getattr(Signature, name)
    if isinstance(column.type, Boolean):
        return case((column.is_(True), "true"), else_="false")
    if isinstance(column.type, UTCDateTime):
        return func.coalesce(iso_utc(column), "")
    if isinstance(column.type, Integer):
        return cast(column, String)
    return _text_cell(column)


def kind_columns(kind) -> dict:
    """The export columns that are the kind's own table's (its answers_model), for csv_line."""
    table = None if kind.answers_model is None else kind.answers_model.__table__
    return {} if table is None else {name: table.c[name] for name in kind.export_columns if name in table.c}


def csv_line(columns: tuple[str, ...], expressions: dict | None = None) -> ColumnElement:
    """A whole CSV line, built by the database: a million rows never become twelve million
    Python objects, which had made the export several times slower than the sqlite3 tool."""
    cells = (_cell(name, expressions or {}) for name in columns)
    return reduce(lambda line, cell: line + literal(",") + cell, cells)


def _query(
    filters: ExportFilters,
    columns: tuple[str, ...],
    expressions: dict,
    campaign_id: int | None,
    joined=None,
) -> Select:
    query = select(csv_line(columns, expressions)).select_from(Signature).order_by(Signature.id)
    if joined is not None:  # the kind's own table, whose columns the expressions name
        query = query.outerjoin(joined, joined.signature_id == Signature.id)
    if campaign_id is not None:
        query = query.where(Signature.campaign_id == campaign_id)
    if filters.status == "confirmed":
        query = query.where(Signature.confirmed)
    elif filters.status == "unconfirmed":
        query = query.where(~Signature.confirmed)
    if filters.since:
        query = query.where(Signature.signed_at >= datetime.combine(filters.since, time(), UTC))
    if filters.until:  # inclusive: everything signed on that day too
        end = datetime.combine(filters.until + timedelta(days=1), time(), UTC)
        query = query.where(Signature.signed_at < end)
    if filters.updates_only:
        query = query.where(Signature.updates.is_(True))
    return query


class CsvExport:
    """The export as text chunks of BATCH_ROWS lines each; memory stays flat.

    Lines come from a server-side cursor (PostgreSQL) or SQLite's lazy cursor, one
    batch at a time, on a connection of the export's own: the session stays free to
    write the audit log meanwhile. Once iterated, `rows` holds how many were written.
    """

    def __init__(self, filters: ExportFilters, across_campaigns: bool = False):
        self.filters = filters
        if across_campaigns:  # every campaign's signatures, each row naming its campaign
            self.campaign_id = None
            self.columns = ACROSS_CAMPAIGNS
            slug = select(Campaign.slug).where(Campaign.id == Signature.campaign_id).scalar_subquery()
            self.expressions = {"campaign": slug}
            self.joined = None
        else:
            kind = kind_for(current_campaign())
            self.campaign_id = current_campaign().id
            self.columns = COLUMNS + kind.export_columns
            self.joined = kind.answers_model
            self.expressions = {**kind_columns(kind), **kind.export_cells()}
        self.rows = 0

    def __iter__(self) -> Iterator[str]:
        header = (BOM if self.filters.excel else "") + ",".join(self.columns) + EOL
        # Core, not the ORM: each row is one finished line and needs no object around it.
        query = _query(self.filters, self.columns, self.expressions, self.campaign_id, self.joined)
        query = query.execution_options(stream_results=True)
        with db.engine.connect() as connection:
            result = connection.execute(query)
            for lines in result.scalars().partitions(BATCH_ROWS):
                self.rows += len(lines)
                yield header + EOL.join(lines) + EOL
                header = ""
        if header:  # nothing matched: the header alone
            yield header


def audited_export(filters: ExportFilters, actor: str, across_campaigns: bool = False) -> Iterator[str]:
    """Run the export's query, record it in the audit log, and return its chunks.

    The first batch is fetched here, before the audit row and before any byte is sent:
    a query that fails (a locked or unreachable database) fails the request with a
    clean error page and no audit row, never half-way through a CSV. The row count is
    filled in once the last chunk has been read.
    """
    export = CsvExport(filters, across_campaigns)
    chunks = iter(export)
    first = next(chunks)
    try:
        with write_transaction():
            event_id = record_event(actor, EXPORT, filters.describe()).id
    except BaseException:
        chunks.close()  # let go of the export's connection and its read transaction
        raise
    return _finish_export(first, chunks, export, event_id)


def _finish_export(first: str, chunks: Iterator[str], export: CsvExport, event_id: int) -> Iterator[str]:
    yield first
    yield from chunks
    with write_transaction():
        set_event_rows(event_id, export.rows)
