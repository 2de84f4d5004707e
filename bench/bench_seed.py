"""Pending signatures and their confirmation tokens, for the confirm benchmark."""

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

from app.tokens import CONFIRM


def seed_pending(database_url: str, count: int, secret_key: str) -> Path:
    engine = create_engine(database_url)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{"email": f"pending{n}@example.org", "signed_at": now} for n in range(count)]
    with engine.begin() as connection:
        for start in range(0, count, 10_000):
            connection.execute(
                text(
                    "INSERT INTO signatures (email, email_domain, name, postal_code, country, comment,"
                    " public, updates, language, source, signed_at, emails_queued)"
                    " VALUES (:email, 'example.org', 'Pending Person', 'K1A 0B1', 'CA', '', false, false,"
                    " 'en', '', :signed_at, 1)"
                ),
                rows[start : start + 10_000],
            )
        ids = [
            row[0]
            for row in connection.execute(
                text("SELECT id FROM signatures WHERE confirmed_at IS NULL ORDER BY id")
            )
        ]
    engine.dispose()
    serializer = URLSafeTimedSerializer([secret_key], salt=CONFIRM)
    path = Path(tempfile.mkdtemp(prefix="petition-tokens-")) / "tokens.txt"
    path.write_text("\n".join(serializer.dumps(signature_id) for signature_id in ids) + "\n")
    return path
