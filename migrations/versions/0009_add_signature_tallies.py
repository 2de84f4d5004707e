"""add signature tallies kept by triggers

The dashboard's figures (totals, per day, per region, per source, per email domain) as
running sums, changed by the database itself in the transaction that changes a
signature, whichever code runs it. On PostgreSQL the sums are spread over shards and
written in one ordered statement per change, so concurrent signers rarely wait on the
same row and never deadlock; SQLite has one writer at a time and one shard.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SHARDS = 16
# Any change to these columns can move a signature between tallies.
TALLIED = ("signed_at", "confirmed_at", "updates", "country", "postal_code", "source", "email_domain")
UPSERT = """INSERT INTO signature_tallies (facet, value, shard, signed, confirmed, consenting)
SELECT facet, value, {shard}, sum(signed), sum(confirmed), sum(consenting)
FROM ({changes}) AS changes WHERE true
GROUP BY facet, value
HAVING sum(signed) <> 0 OR sum(confirmed) <> 0 OR sum(consenting) <> 0
ORDER BY facet, value
ON CONFLICT (facet, value, shard) DO UPDATE SET
  signed = signature_tallies.signed + excluded.signed,
  confirmed = signature_tallies.confirmed + excluded.confirmed,
  consenting = signature_tallies.consenting + excluded.consenting"""


def contribution(dialect: str, row: str, weight: int, source: str = "") -> str:
    """What the signature(s) `row` add to every tally, times `weight` (1, or -1 to take away).

    `row` is NEW or OLD in a SQLite row trigger, or the alias of the rows in `source`.
    """

    def flag(condition: str) -> str:
        return f"({condition})" if dialect == "sqlite" else f"CAST(({condition}) AS integer)"

    def day(column: str) -> str:
        # to_char, not a cast to text: that would follow the server's DateStyle.
        return f"date({column})" if dialect == "sqlite" else f"to_char({column}, 'YYYY-MM-DD')"

    confirmed = f"{row}.confirmed_at IS NOT NULL"
    w = f"{weight}"
    region = (
        f"{row}.country || '-' || "
        f"CASE WHEN {row}.country = 'CA' THEN upper(substr({row}.postal_code, 1, 1)) ELSE '' END"
    )
    parts = [
        f"SELECT 'all' AS facet, '' AS value, {w} AS signed, {w} * {flag(confirmed)} AS confirmed, "
        f"{w} * {flag(f'{confirmed} AND {row}.updates')} AS consenting{source}",
        f"SELECT 'signed_on', {day(f'{row}.signed_at')}, {w}, 0, 0{source}",
        f"SELECT 'confirmed_on', {day(f'{row}.confirmed_at')}, 0, {w}, 0{source} WHERE {confirmed}",
        # Only confirmed signers by region: signing alone then leaves these rows alone.
        f"SELECT 'region', {region}, 0, {w}, 0{source} WHERE {confirmed}",
        f"SELECT 'source', {row}.source, {w}, {w} * {flag(confirmed)}, 0{source} WHERE {row}.source <> ''",
        f"SELECT 'domain', {row}.email_domain, {w}, {w} * {flag(confirmed)}, 0{source}",
    ]
    return "\nUNION ALL ".join(parts)


def sqlite_triggers() -> list[str]:
    def trigger(event: str, changes: str) -> str:
        return (
            f"CREATE TRIGGER signature_tallies_{event.split()[0].lower()} AFTER {event} ON signatures "
            f"FOR EACH ROW BEGIN {UPSERT.format(shard=0, changes=changes)}; END"
        )

    new, old = contribution("sqlite", "NEW", 1), contribution("sqlite", "OLD", -1)
    return [
        trigger("INSERT", new),
        trigger(f"UPDATE OF {', '.join(TALLIED)}", f"{old}\nUNION ALL {new}"),
        trigger("DELETE", old),
    ]


def postgresql_triggers() -> list[str]:
    def upsert(changes: str) -> str:
        # One shard per statement (an uncorrelated subquery runs once), rows in key order:
        # every transaction locks tally rows in the same order, so none waits in a circle.
        return UPSERT.format(shard=f"(SELECT floor(random() * {SHARDS})::integer)", changes=changes)

    new = contribution("postgresql", "r", 1, " FROM new_rows AS r")
    old = contribution("postgresql", "r", -1, " FROM old_rows AS r")
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


def upgrade():
    op.create_table(
        "signature_tallies",
        sa.Column("facet", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(255), primary_key=True),
        sa.Column("shard", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("signed", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("consenting", sa.Integer(), nullable=False),
    )
    # The dashboard's "unusual activity" looks at the last hour alone, and the public pages
    # at the latest approved reasons: neither should read a million rows to find a few.
    op.create_index("ix_signatures_signed_at", "signatures", ["signed_at"])
    op.create_index("ix_signatures_comment_approved_at", "signatures", ["comment_approved_at"])
    dialect = op.get_bind().dialect.name
    # Existing signatures first, in one pass, then the triggers keep the sums from here on.
    op.execute(UPSERT.format(shard=0, changes=contribution(dialect, "r", 1, " FROM signatures AS r")))
    for statement in sqlite_triggers() if dialect == "sqlite" else postgresql_triggers():
        op.execute(statement)


def downgrade():
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS signature_tallies_{event}" + ("" if _sqlite() else " ON signatures"))
    if not _sqlite():
        op.execute("DROP FUNCTION IF EXISTS signature_tallies_change()")
    op.drop_index("ix_signatures_comment_approved_at", table_name="signatures")
    op.drop_index("ix_signatures_signed_at", table_name="signatures")
    op.drop_table("signature_tallies")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
