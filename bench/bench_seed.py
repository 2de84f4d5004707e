"""Pending signatures and their confirmation tokens, for the confirm benchmark."""

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from itsdangerous import URLSafeTimedSerializer
from seed import analyze, first_campaign, numbers
from sqlalchemy import create_engine, text

from app.tokens import CONFIRM


def seed_pending(database_url: str, count: int, secret_key: str) -> Path:
    engine = create_engine(database_url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        # One INSERT ... SELECT: the tallies' triggers run once per row on SQLite, once in all on PostgreSQL.
        connection.execute(
            text(
                "INSERT INTO signatures (campaign_id, email, email_domain, name, postal_code, country,"
                " comment, public, updates, language, source, signed_at, emails_queued)"
                " SELECT :campaign, 'pending' || n || '@example.org', 'example.org', 'Pending Person',"
                " 'K1A 0B1', 'CA', '', false, false, 'en', '', :signed_at, 1"
                f" FROM ({numbers(engine.dialect.name, count)}) AS numbers"
            ),
            {"signed_at": now, "campaign": first_campaign(connection)},
        )
        ids = [
            row[0]
            for row in connection.execute(
                text("SELECT id FROM signatures WHERE confirmed_at IS NULL ORDER BY id")
            )
        ]
    analyze(engine)
    engine.dispose()
    serializer = URLSafeTimedSerializer([secret_key], salt=CONFIRM)
    path = Path(tempfile.mkdtemp(prefix="petition-tokens-")) / "tokens.txt"
    path.write_text("\n".join(serializer.dumps(signature_id) for signature_id in ids) + "\n")
    return path
