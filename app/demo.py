"""Fictional signatures for development, so a fresh `make run` has a dashboard worth seeing."""

import random
from datetime import timedelta

from sqlalchemy import func, insert, select

from .campaign import current_campaign
from .counter import add_to_count, forget_count
from .database import write_transaction
from .extensions import db
from .kinds import kind_for
from .models import Signature, utcnow

FIRST_NAMES = (
    "Amélie",
    "Jonah",
    "Priya",
    "Mathieu",
    "Keisha",
    "Olivier",
    "Mei",
    "Samir",
    "Chloé",
    "Tariq",
    "Hannah",
    "Étienne",
    "Noor",
    "Gabriel",
    "Leila",
    "Owen",
    "Sofía",
    "Kwame",
    "Maude",
    "Ravi",
)
LAST_NAMES = (
    "Tremblay",
    "Nguyen",
    "Singh",
    "Gagnon",
    "MacDonald",
    "Roy",
    "Chen",
    "Côté",
    "Okafor",
    "Bouchard",
    "Wilson",
    "Martin",
    "Haddad",
    "Lavoie",
    "Campbell",
    "Fortin",
    "Ahmed",
    "Morin",
    "Young",
    "Pelletier",
)
POSTAL_CODES = (
    "H2X 1Y4",
    "H3A 0G4",
    "G1R 4P5",
    "J8X 3X7",
    "M5V 2T6",
    "K1A 0B1",
    "L8P 4R5",
    "N6A 3K7",
    "P3E 2C6",
    "V5K 0A1",
    "V8W 1P6",
    "T2P 1J9",
    "T5J 0N3",
    "R3C 4T3",
    "S4P 3Y2",
    "B3H 4R2",
    "E1C 4M3",
    "C1A 7N8",
    "A1C 5M2",
    "X1A 2L9",
    "Y1A 2C6",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "courriel.example")
SOURCES = ("", "", "", "newsletter", "newsletter", "partner-network", "social", "press-release")


def seed_demo_signatures(count: int = 400, seed: int = 2026) -> int:
    """Add `count` fictional signatures to the current campaign over the last 30 days, if it has
    none yet; how many."""
    campaign = current_campaign()
    if db.session.scalar(
        select(func.count()).select_from(Signature).where(Signature.campaign_id == campaign.id)
    ):
        return 0
    chooser = random.Random(seed)
    languages = campaign.languages
    now = utcnow()
    rows = []
    for number in range(count):
        first, last = chooser.choice(FIRST_NAMES), chooser.choice(LAST_NAMES)
        domain = chooser.choice(DOMAINS)
        # Most signatures arrive in the last days of the campaign, as they do once it spreads.
        signed_at = now - timedelta(days=30 * chooser.random() ** 2.5, minutes=chooser.randrange(600))
        # A provider that drops our mail confirms far less often: the dashboard shows it.
        is_confirmed = chooser.random() < (0.35 if domain == "mail.example" else 0.8)
        updates = chooser.random() < 0.4
        rows.append(
            {
                "campaign_id": campaign.id,
                "revision_id": campaign.revision_id,
                "name": f"{first} {last}",
                "email": f"demo{number}.{last.lower()}@{domain}",
                "email_domain": domain,
                "postal_code": chooser.choice(POSTAL_CODES),
                "country": "CA" if chooser.random() < 0.95 else "FR",
                "comment": "",
                "public": chooser.random() < 0.6,
                "updates": updates,
                "updates_consented_at": signed_at if updates else None,
                "consent_version": None,
                "language": languages[-1] if chooser.random() < 0.3 else languages[0],
                "source": chooser.choice(SOURCES),
                "signed_at": signed_at,
                "emails_queued": 1,
                "confirmed_at": signed_at + timedelta(minutes=chooser.randrange(1, 240))
                if is_confirmed
                else None,
            }
        )
    for row in rows:
        if row["country"] != "CA":
            row["postal_code"] = "75011"
    kind = kind_for(current_campaign())
    kind.demo_rows(rows, chooser, now)
    # What the kind keeps in its own table goes there, beside each signature.
    model = kind.answers_model
    own = (
        ()
        if model is None
        else [c.name for c in model.__table__.c if c.name not in ("signature_id", "campaign_id")]
    )
    own_rows = [{name: row.pop(name) for name in own if name in row} for row in rows]
    with write_transaction():
        ids = db.session.scalars(
            insert(Signature).returning(Signature.id, sort_by_parameter_order=True), rows
        )
        if model is not None:
            db.session.execute(
                insert(model),
                [
                    {**own_row, "signature_id": signature_id, "campaign_id": campaign.id}
                    for signature_id, own_row in zip(ids.all(), own_rows, strict=True)
                ],
            )
        # What the count is made of is the kind's to say: confirmed signatures, or listed signatories.
        add_to_count(db.session.scalar(select(func.count()).where(kind.counted(campaign.id))))
        kind.seed_demo()
    forget_count()
    return count
