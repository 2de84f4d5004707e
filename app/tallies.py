"""The dashboard's running tallies (models.SignatureTally): the database triggers that keep
them, and what is left of them after an erasure.

The triggers are defined here, beside the table they write, and migrations create them by
calling `create_triggers` (0009 had its own copy, from before tallies were per campaign).
"""

from collections import defaultdict

from sqlalchemy import delete, func, select, tuple_

from .database import write_transaction
from .extensions import db
from .models import SignatureTally

TALLY = SignatureTally
SHARDS = 16
# Any change to these columns can move a signature between tallies.
TALLIED = ("signed_at", "confirmed_at", "updates", "country", "postal_code", "source", "email_domain")
EVENTS = ("insert", "update", "delete")
_UPSERT = """INSERT INTO signature_tallies (campaign_id, facet, value, shard, signed, confirmed, consenting)
SELECT campaign_id, facet, value, {shard}, sum(signed), sum(confirmed), sum(consenting)
FROM ({changes}) AS changes WHERE true
GROUP BY campaign_id, facet, value
HAVING sum(signed) <> 0 OR sum(confirmed) <> 0 OR sum(consenting) <> 0
ORDER BY campaign_id, facet, value
ON CONFLICT (campaign_id, facet, value, shard) DO UPDATE SET
  signed = signature_tallies.signed + excluded.signed,
  confirmed = signature_tallies.confirmed + excluded.confirmed,
  consenting = signature_tallies.consenting + excluded.consenting"""


def _contribution(dialect: str, row: str, weight: int, source: str = "") -> str:
    """What the signature(s) `row` add to every tally of their campaign, times `weight` (1, or
    -1 to take away). `row` is NEW or OLD in a SQLite row trigger, or the alias of the rows in
    `source`.

    Facets: `all` (value ""), `signed_on` and `confirmed_on` (the UTC day, YYYY-MM-DD),
    `region` (country, "-", and for Canada the postal code's first letter; confirmed only),
    `source` (when there is one) and `domain`.
    """

    def flag(condition: str) -> str:
        return f"({condition})" if dialect == "sqlite" else f"CAST(({condition}) AS integer)"

    def day(column: str) -> str:
        # to_char, not a cast to text: that would follow the server's DateStyle.
        return f"date({column})" if dialect == "sqlite" else f"to_char({column}, 'YYYY-MM-DD')"

    confirmed = f"{row}.confirmed_at IS NOT NULL"
    w = f"{weight}"
    campaign = f"{row}.campaign_id"
    region = (
        f"{row}.country || '-' || "
        f"CASE WHEN {row}.country = 'CA' THEN upper(substr({row}.postal_code, 1, 1)) ELSE '' END"
    )
    parts = [
        f"SELECT {campaign} AS campaign_id, 'all' AS facet, '' AS value, {w} AS signed, "
        f"{w} * {flag(confirmed)} AS confirmed, {w} * {flag(f'{confirmed} AND {row}.updates')} AS consenting"
        f"{source}",
        f"SELECT {campaign}, 'signed_on', {day(f'{row}.signed_at')}, {w}, 0, 0{source}",
        f"SELECT {campaign}, 'confirmed_on', {day(f'{row}.confirmed_at')}, 0, {w}, 0{source} "
        f"WHERE {confirmed}",
        # Only confirmed signers by region: signing alone then leaves these rows alone.
        f"SELECT {campaign}, 'region', {region}, 0, {w}, 0{source} WHERE {confirmed}",
        f"SELECT {campaign}, 'source', {row}.source, {w}, {w} * {flag(confirmed)}, 0{source} "
        f"WHERE {row}.source <> ''",
        f"SELECT {campaign}, 'domain', {row}.email_domain, {w}, {w} * {flag(confirmed)}, 0{source}",
    ]
    return "\nUNION ALL ".join(parts)


def _sqlite_triggers() -> list[str]:
    def trigger(event: str, changes: str) -> str:
        return (
            f"CREATE TRIGGER signature_tallies_{event.split()[0].lower()} AFTER {event} ON signatures "
            f"FOR EACH ROW BEGIN {_UPSERT.format(shard=0, changes=changes)}; END"
        )

    new, old = _contribution("sqlite", "NEW", 1), _contribution("sqlite", "OLD", -1)
    return [
        trigger("INSERT", new),
        trigger(f"UPDATE OF {', '.join(TALLIED)}", f"{old}\nUNION ALL {new}"),
        trigger("DELETE", old),
    ]


def _postgresql_triggers() -> list[str]:
    def upsert(changes: str) -> str:
        # One shard per statement (an uncorrelated subquery runs once), rows in key order:
        # every transaction locks tally rows in the same order, so none waits in a circle.
        return _UPSERT.format(shard=f"(SELECT floor(random() * {SHARDS})::integer)", changes=changes)

    new = _contribution("postgresql", "r", 1, " FROM new_rows AS r")
    old = _contribution("postgresql", "r", -1, " FROM old_rows AS r")
    function = f"""CREATE FUNCTION signature_tallies_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {upsert(new)};
  ELSIF TG_OP = 'UPDATE' THEN
    {upsert(f"{old} UNION ALL {new}")};
  ELSE
    {upsert(old)};
  END IF;
  RETURN NULL;
END $$"""
    tables = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}
    tables["DELETE"] = "OLD TABLE AS old_rows"
    return [function] + [
        f"CREATE TRIGGER signature_tallies_{event.lower()} AFTER {event} ON signatures "
        f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION signature_tallies_change()"
        for event, referencing in tables.items()
    ]


def create_triggers(execute, dialect: str) -> None:
    """Create the triggers that keep the tallies, after adding what the signatures already
    there make (the tallies start empty); `execute` runs one SQL statement (a migration's
    op.execute)."""
    execute(_UPSERT.format(shard=0, changes=_contribution(dialect, "r", 1, " FROM signatures AS r")))
    for statement in _sqlite_triggers() if dialect == "sqlite" else _postgresql_triggers():
        execute(statement)


def drop_triggers(execute, dialect: str) -> None:
    """Drop the tallies' triggers (a migration that rebuilds the signatures table, or them)."""
    for event in EVENTS:
        execute(
            f"DROP TRIGGER IF EXISTS signature_tallies_{event}"
            + ("" if dialect == "sqlite" else " ON signatures")
        )
    if dialect != "sqlite":
        execute("DROP FUNCTION IF EXISTS signature_tallies_change()")


def _sum(column):
    return func.coalesce(func.sum(column), 0)


def drop_empty_tallies() -> int:
    """After an erasure: delete the tallies whose signatures are all gone (every sum zero over
    the shards), so nothing keeps an erased signer's own email domain or source tag; how many
    rows went.

    Every tally of this kind goes, of any campaign, left by this erasure or by an earlier one. Its shards are
    locked first, in key order as the triggers lock them, and only those whose locked sums
    still add up to zero are deleted: a signer counted meanwhile on one of them keeps the row,
    one counted on a new shard adds a row that is not touched.
    """
    zero = (_sum(TALLY.signed) == 0) & (_sum(TALLY.confirmed) == 0) & (_sum(TALLY.consenting) == 0)
    key = (TALLY.campaign_id, TALLY.facet, TALLY.value)
    with write_transaction():
        empty = db.session.execute(select(*key).group_by(*key).having(zero)).all()
        if not empty:
            return 0
        shards = db.session.execute(
            select(*key, TALLY.shard, TALLY.signed, TALLY.confirmed, TALLY.consenting)
            .where(tuple_(*key).in_([tuple(row) for row in empty]))
            .order_by(*key, TALLY.shard)
            .with_for_update()
        ).all()
        sums: defaultdict = defaultdict(lambda: [0, 0, 0])
        for row in shards:
            for column, amount in enumerate((row.signed, row.confirmed, row.consenting)):
                sums[tuple(row[:3])][column] += amount
        gone = [(*row[:3], row.shard) for row in shards if not any(sums[tuple(row[:3])])]
        if gone:
            db.session.execute(delete(TALLY).where(tuple_(*key, TALLY.shard).in_(gone)))
    return len(gone)
