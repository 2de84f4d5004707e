"""What of the signers' tables is personal data, read from the marks on the model's columns
(models.Personal), and what follows from them: what anonymisation writes over a signature and
over its kind's own row (Kind.answers_model), and which rows go with it (erasure takes them
all with the signature: ON DELETE CASCADE)."""

from sqlalchemy import Column, String, Table, case, cast, func, literal

from .extensions import db
from .models import Personal, Signature


def signer_tables() -> list[Table]:
    """`signatures`, every table whose rows belong to a signature (directly or through another),
    and any other table with a column marked personal."""
    tables = [Signature.__table__]
    for table in db.metadata.sorted_tables:  # a table comes after those it refers to
        if table in tables:
            continue
        belongs = any(key.column.table in tables for key in table.foreign_keys)
        if belongs or personal_columns(table):
            tables.append(table)
    return tables


def personal_columns(table: Table) -> list[Column]:
    """The table's columns marked as holding a signer's personal data."""
    return [column for column in table.columns if column.info.get("personal")]


def anonymised_values(table: Table | None = None) -> dict:
    """What anonymisation writes over a row of `signatures` (or of `table`, one of
    written_over_beside()'s): each column marked personal, by its mark."""
    table = Signature.__table__ if table is None else table
    return {column.name: _anonymised(column) for column in personal_columns(table)}


def _signature_column(table: Table) -> Column:
    """The column of `table` that names its row's signature."""
    [column] = [key.parent for key in table.foreign_keys if key.column.table is Signature.__table__]
    return column


def written_over_beside() -> list[Column]:
    """The tables beside `signatures` whose personal columns anonymisation writes over in place
    (a kind's own answers: none marked Personal.ROW), as the column of each that names the
    signature."""
    signatures = Signature.__table__
    return [
        _signature_column(table)
        for table in signer_tables()
        if table is not signatures
        and personal_columns(table)
        and all(c.info["personal"] != Personal.ROW for c in personal_columns(table))
    ]


def _anonymised(column: Column):
    rule = column.info["personal"]
    if rule == Personal.BLANK:
        return ""
    if rule == Personal.UNSET:
        return None
    if rule == Personal.WITHDRAWN:
        return False
    if rule == Personal.UNDELIVERABLE:
        return literal("anonymised-") + cast(column.table.c.id, String) + literal("@invalid")
    if rule == Personal.PROVINCE:
        return case(
            (column.table.c.country == "CA", func.upper(func.substr(column, 1, 1))),
            else_="",
        )
    raise ValueError(f"{column.table.name}.{column.name}: no way to anonymise it in place ({rule!r})")


def personal_rows() -> list[Column]:
    """The rows that are a signature's personal data as a whole (a column marked Personal.ROW), as
    the column of each such table that names the signature: anonymisation deletes them."""
    signatures = Signature.__table__
    return [
        key.parent
        for table in signer_tables()
        if table is not signatures and any(c.info.get("personal") == Personal.ROW for c in table.columns)
        for key in table.foreign_keys
        if key.column.table is signatures
    ]
