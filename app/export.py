"""The CSV export: the contract's columns, filters, streaming in batches, and safe cells."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, select

from .audit import EXPORT, record_event, set_event_rows
from .database import write_transaction
from .extensions import db
from .models import Signature

COLUMNS = ("id", "name", "email", "postal_code", "country", "comment", "public", "updates",
           "language", "source", "signed_at", "confirmed_at")
STATUSES = ("confirmed", "unconfirmed", "all")
BATCH_ROWS = 2000
BOM = "\ufeff"
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
    return filters


def _query(filters: ExportFilters) -> Select:
    query = select(*(getattr(Signature, column) for column in COLUMNS)).order_by(Signature.id)
    if filters.status == "confirmed":
        query = query.where(Signature.confirmed_at.is_not(None))
    elif filters.status == "unconfirmed":
        query = query.where(Signature.confirmed_at.is_(None))
    if filters.since:
        query = query.where(Signature.signed_at >= datetime.combine(filters.since, time(), timezone.utc))
    if filters.until:  # inclusive: everything signed on that day too
        end = datetime.combine(filters.until + timedelta(days=1), time(), timezone.utc)
        query = query.where(Signature.signed_at < end)
    if filters.updates_only:
        query = query.where(Signature.updates.is_(True))
    return query


def neutralize(text: str) -> str:
    """Make a cell that a spreadsheet would run as a formula display as text instead."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value) -> str | int:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return neutralize(str(value))


class CsvExport:
    """The export as text chunks of about BATCH_ROWS rows each; memory stays flat.

    Rows come from a server-side cursor (PostgreSQL) or SQLite's lazy cursor, one
    batch at a time. Once iterated, `rows` holds how many were written.
    """

    def __init__(self, filters: ExportFilters):
        self.filters = filters
        self.rows = 0

    def __iter__(self) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if self.filters.excel:
            buffer.write(BOM)
        writer.writerow(COLUMNS)
        result = db.session.execute(_query(self.filters).execution_options(yield_per=BATCH_ROWS))
        for partition in result.partitions():
            writer.writerows([_cell(value) for value in row] for row in partition)
            self.rows += len(partition)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if buffer.tell():  # the header alone, when nothing matched
            yield buffer.getvalue()


def audited_export(filters: ExportFilters, actor: str) -> Iterator[str]:
    """The export's chunks, recorded in the audit log with its filters and, at the end, its rows."""
    with write_transaction():
        event_id = record_event(actor, EXPORT, filters.describe()).id
    export = CsvExport(filters)
    yield from export
    set_event_rows(event_id, export.rows)
