"""Fill a migrated database with N confirmed signatures and their sent mail, fast: one
INSERT ... SELECT over a generated series of numbers, run by the database itself (a
million rows in seconds, the tallies' triggers included)."""

from sqlalchemy import create_engine, text

NAMES = ("Zoë Tremblay", "Jean-François Côté", "Mei Chen", "Sam O''Brien", 'Ana, "Nana" Silva', "Ravi Singh")
POSTAL = ("H2X 1Y4", "M5V 2T6", "V5K 0A1", "K1A 0B1", "T2P 1J9")
DOMAINS = ("example.org", "gmail.com", "videotron.ca", "example.net", "courriel.example")


def _pick(values: tuple[str, ...]) -> str:
    """The SQL for values[n % len(values)]."""
    cases = " ".join(f"WHEN {index} THEN '{value}'" for index, value in enumerate(values))
    return f"CASE n % {len(values)} {cases} END"


def numbers(dialect: str, rows: int) -> str:
    """A query of one column `n`: 0, 1, ... rows - 1."""
    if dialect == "sqlite":
        return (
            f"WITH RECURSIVE series(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM series WHERE n < {rows - 1}) "
            "SELECT n FROM series"
        )
    return f"SELECT n FROM generate_series(0, {rows - 1}) AS n"


def _signature_rows(dialect: str, rows: int, campaign_id: int) -> str:
    if dialect == "sqlite":
        # The format SQLAlchemy writes (with microseconds): compared as text, it must match.
        signed = "datetime('2026-01-01', '+' || (n * 7) || ' seconds') || '.000000'"
        confirmed = (
            "datetime('2026-01-01', '+' || (n * 7 + 60 * (1 + n * 13 % 59)) || ' seconds') || '.000000'"
        )
        flag = "(n % {} = 0)"
    else:
        signed = "TIMESTAMP '2026-01-01' + n * INTERVAL '7 seconds'"
        confirmed = f"{signed} + (1 + n * 13 % 59) * INTERVAL '1 minute'"
        flag = "(n % {} = 0)"
    return f"""INSERT INTO signatures (campaign_id, email, email_domain, name, postal_code, country, comment,
        public, updates, language, source, signed_at, confirmed_at, emails_queued)
    SELECT {campaign_id}, 'signer' || n || '@' || {_pick(DOMAINS)}, {_pick(DOMAINS)}, {_pick(NAMES)},
        {_pick(POSTAL)}, 'CA',
        CASE WHEN n % 10 = 0 THEN 'Pour nos libertés, "maintenant"' ELSE '' END,
        {flag.format(2)}, {flag.format(3)}, CASE WHEN n % 4 = 0 THEN 'en' ELSE 'fr' END,
        CASE WHEN n % 5 = 0 THEN 'newsletter' ELSE '' END, {signed}, {confirmed}, 1
    FROM ({numbers(dialect, rows)}) AS numbers"""


def first_campaign(connection) -> int:
    """The id of the database's first campaign (`campaign import` made it)."""
    campaign_id = connection.scalar(text("SELECT min(id) FROM campaigns"))
    if campaign_id is None:
        raise SystemExit("no campaign to fill: run `flask --app wsgi campaign import FILE` first")
    return campaign_id


def seed(url: str, rows: int, campaign_id: int | None = None) -> None:
    """Insert `rows` confirmed signatures of the campaign (by default the first), one sent
    confirmation email each, and make its count shards agree with them."""
    engine = create_engine(url)
    with engine.begin() as connection:
        campaign_id = campaign_id or first_campaign(connection)
        _without_row_triggers(
            connection,
            lambda: connection.execute(text(_signature_rows(engine.dialect.name, rows, campaign_id))),
        )
        connection.execute(
            text(
                "INSERT INTO outbox (signature_id, kind, status, attempts, next_attempt_at, created_at,"
                " sent_at) SELECT id, 'confirmation', 'sent', 1, signed_at, signed_at, signed_at"
                " FROM signatures WHERE campaign_id = :campaign"
            ),
            {"campaign": campaign_id},
        )
        connection.execute(
            text(
                "UPDATE count_shards SET count = CASE WHEN shard = 0 THEN (SELECT count(*) FROM signatures"
                " WHERE campaign_id = :campaign AND confirmed_at IS NOT NULL) ELSE 0 END"
                " WHERE campaign_id = :campaign"
            ),
            {"campaign": campaign_id},
        )
    analyze(engine)
    engine.dispose()


def analyze(engine) -> None:
    """PostgreSQL: what autovacuum does soon after many new rows. Without statistics, or with
    statistics from before the rows came, the planner guesses and may read a whole table
    for a handful of rows."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))


def _without_row_triggers(connection, fill) -> None:
    """SQLite: run `fill` with the tallies' row triggers set aside, then count the tallies in one
    pass (the migration's own backfill) and put the triggers back. PostgreSQL's statement
    triggers already count a whole INSERT ... SELECT in one pass."""
    if connection.dialect.name != "sqlite":
        fill()
        return
    from app.tallies import create_triggers, drop_triggers

    drop_triggers(connection.exec_driver_sql, "sqlite")
    fill()
    connection.execute(text("DELETE FROM signature_tallies"))
    create_triggers(connection.exec_driver_sql, "sqlite")  # the tallies of every row, then the triggers
