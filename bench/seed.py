"""Fill a migrated database with N confirmed signatures, fast (one multi-row insert per batch)."""

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

NAMES = ("Zoë Tremblay", "Jean-François Côté", "Mei Chen", "Sam O'Brien", 'Ana, "Nana" Silva', "Ravi Singh")
POSTAL = ("H2X 1Y4", "M5V 2T6", "V5K 0A1", "K1A 0B1", "T2P 1J9")


def seed(url: str, rows: int, batch: int = 10_000) -> None:
    """Insert `rows` signatures and make the count shards agree with them."""
    engine = create_engine(url)
    chooser = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        for offset in range(0, rows, batch):
            values = []
            for number in range(offset, min(offset + batch, rows)):
                signed = start + timedelta(seconds=number * 7)
                values.append(
                    {
                        "email": f"signer{number}@example.org",
                        "email_domain": "example.org",
                        "name": NAMES[number % len(NAMES)],
                        "postal_code": POSTAL[number % len(POSTAL)],
                        "country": "CA",
                        "comment": 'Pour nos libertés, "maintenant"' if number % 10 == 0 else "",
                        "public": number % 2 == 0,
                        "updates": number % 3 == 0,
                        "language": "fr" if number % 4 else "en",
                        "source": "newsletter" if number % 5 == 0 else "",
                        "signed_at": signed,
                        "confirmed_at": signed + timedelta(minutes=chooser.randrange(1, 60)),
                        "emails_queued": 1,
                    }
                )
            columns = list(values[0])  # the columns are the keys of the rows built above
            placeholders = ", ".join(":" + column for column in columns)
            insert = f"INSERT INTO signatures ({', '.join(columns)}) VALUES ({placeholders})"
            connection.execute(text(insert), values)
        connection.execute(text("UPDATE count_shards SET count = 0"))
        connection.execute(text("UPDATE count_shards SET count = :rows WHERE shard = 0"), {"rows": rows})
    engine.dispose()
