"""Keyset pagination: a page starts just past the last row of the page before, found through
its key in an index, so the thousandth page costs what the first does (OFFSET would read
and skip every row before it).

A cursor names the row a page starts after (or ends before) by its key values, written
with letters, digits, "-", "_" and "." only, so it sits in a URL as it is. Anything that
is not such a cursor raises BadCursor: a 404 for the visitor, never a 500.
"""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, or_, type_coerce
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import NullType

from .extensions import db

AFTER, BEFORE = "a", "b"
MAX_CURSOR = 400
# Beyond what any key column holds, and what every database driver binds without complaint.
MAX_INTEGER = 2**53
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class BadCursor(ValueError):
    """The cursor was not made by this module for these keys."""


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows (without their key columns), and the cursors of the pages around it."""

    rows: list[tuple]
    next_cursor: str | None
    previous_cursor: str | None


@dataclass(frozen=True)
class _Key:
    column: object
    descending: bool

    @classmethod
    def of(cls, key) -> "_Key":
        """A column, or a column's .desc() / .asc()."""
        if isinstance(key, UnaryExpression) and key.modifier in (operators.desc_op, operators.asc_op):
            return cls(key.element, key.modifier is operators.desc_op)
        return cls(key, False)

    def ordered(self, backwards: bool):
        return self.column.desc() if self.descending != backwards else self.column.asc()

    def beyond(self, value, backwards: bool, inclusive: bool = False):
        """Rows that come after `value` in this key's order (before it, going backwards)."""
        if self.descending != backwards:
            return self.column <= value if inclusive else self.column < value
        return self.column >= value if inclusive else self.column > value


def _encode(value) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return str((aware - EPOCH) // MICROSECOND)
    if isinstance(value, str):
        return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
    raise TypeError(f"no cursor encoding for {type(value).__name__}")


def _integer(text: str) -> int:
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 16:
        raise BadCursor(text)
    number = int(text)
    if abs(number) > MAX_INTEGER:
        raise BadCursor(text)
    return number


def _decode(text: str, python_type: type):
    if python_type is bool:
        if text not in ("0", "1"):
            raise BadCursor(text)
        return text == "1"
    if python_type is int:
        return _integer(text)
    if python_type is datetime:
        try:
            return EPOCH + _integer(text) * MICROSECOND
        except OverflowError:
            raise BadCursor(text) from None
    if python_type is str:
        try:
            value = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadCursor(text) from None
        if "\x00" in value:  # PostgreSQL refuses NUL in text: a 500, were it let through
            raise BadCursor(text)
        return value
    raise TypeError(f"no cursor encoding for {python_type.__name__}")


def _python_type(column) -> type:
    column_type = column.type
    # A TypeDecorator (UTCDateTime) says what its database type holds.
    return getattr(column_type, "impl_instance", column_type).python_type


def make_cursor(direction: str, values: Sequence) -> str:
    """The cursor of the page after (AFTER) or before (BEFORE) the row with these key values."""
    return ".".join([direction, *map(_encode, values)])


def read_cursor(cursor: str, keys: Sequence) -> tuple[bool, list]:
    """(backwards, key values) from a cursor for these keys; raise BadCursor."""
    parts = cursor.split(".") if len(cursor) <= MAX_CURSOR else []
    if len(parts) != len(keys) + 1 or parts[0] not in (AFTER, BEFORE):
        raise BadCursor(cursor[:MAX_CURSOR])
    types = [_python_type(_Key.of(key).column) for key in keys]
    return parts[0] == BEFORE, [_decode(text, kind) for text, kind in zip(parts[1:], types, strict=True)]


def _past(keys: list[_Key], values: list, backwards: bool):
    """Rows strictly past `values` in the keys' order: by the first key that differs."""
    branches = [
        and_(
            *(key.column == value for key, value in zip(keys[:i], values[:i], strict=True)),
            keys[i].beyond(values[i], backwards),
        )
        for i in range(len(keys))
    ]
    # The first key's bound alone lets the database start its index scan at the cursor.
    return and_(keys[0].beyond(values[0], backwards, inclusive=True), or_(*branches))


@lru_cache(maxsize=64)
def _page_statement(query: Select, keys: tuple, backwards: bool, from_cursor: bool, per_page: int) -> Select:
    """The page's SELECT, built once per list and direction: the cursor's values are bound
    parameters (`keyset_0`, `keyset_1`...), so each request only binds them."""
    parsed = [_Key.of(key) for key in keys]
    # The keys come back raw: only the first and last rows' are converted, for the cursors
    # (converting a timestamp on every row cost more than the rest of the page's query).
    raw_keys = [type_coerce(key.column, NullType()) for key in parsed]
    statement = query.add_columns(*raw_keys).order_by(*(key.ordered(backwards) for key in parsed))
    if from_cursor:
        values = [bindparam(f"keyset_{i}", type_=key.column.type) for i, key in enumerate(parsed)]
        statement = statement.where(_past(parsed, values, backwards))
    return statement.limit(per_page + 1)


def keyset_page(query: Select, keys: Sequence, cursor: str | None, per_page: int) -> KeysetPage:
    """One page of `query` in the order of `keys` (columns, or column.desc()), which must be
    unique together and never NULL; `cursor` from a page before, or None for the first page.

    Raise BadCursor for a cursor that is not one of ours. An index on the keys (after
    the query's equality filters) makes every page cost the same. Pass the same `query`
    and `keys` objects each time (module constants) and the statement is built only once.
    """
    keys = tuple(keys)
    backwards, values = read_cursor(cursor, keys) if cursor else (False, [])
    statement = _page_statement(query, keys, backwards, cursor is not None, per_page)
    found = db.session.execute(statement, {f"keyset_{i}": value for i, value in enumerate(values)}).all()
    more = len(found) > per_page
    found = found[:per_page]
    if backwards:
        found.reverse()
    width = len(found[0]) - len(keys) if found else 0
    rows = [tuple(row[:width]) for row in found]
    if not found:
        return KeysetPage(rows, None, None)
    dialect = db.session.get_bind().dialect
    types = [_Key.of(key).column.type.dialect_impl(dialect) for key in keys]

    def key_of(row) -> tuple:
        return tuple(_converted(kind, dialect, value) for kind, value in zip(types, row[width:], strict=True))

    has_next = more if not backwards else True
    has_previous = more if backwards else cursor is not None
    return KeysetPage(
        rows,
        next_cursor=make_cursor(AFTER, key_of(found[-1])) if has_next else None,
        previous_cursor=make_cursor(BEFORE, key_of(found[0])) if has_previous else None,
    )


def _converted(column_type, dialect, value):
    process = column_type.result_processor(dialect, None)
    return value if process is None else process(value)
