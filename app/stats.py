"""The organizer dashboard's figures: totals, days, regions, sources, domains, mail health."""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

from .addresses import PROVINCES, country_name
from .extensions import db
from .models import OutboxMessage, Signature, utcnow

CONFIRMED = Signature.confirmed

# Mail providers so large that many signatures from them in an hour mean nothing.
LARGE_PROVIDERS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.ca",
        "live.com",
        "live.ca",
        "msn.com",
        "yahoo.com",
        "yahoo.ca",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.net",
        "videotron.ca",
        "sympatico.ca",
        "bell.net",
        "rogers.com",
        "shaw.ca",
        "telus.net",
        "cogeco.ca",
        "eastlink.ca",
        "sasktel.net",
        "mail.com",
    }
)


def _count_where(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class Totals:
    confirmed: int
    pending: int
    consenting: int


def totals() -> Totals:
    """Confirmed, pending, and confirmed signers who consent to updates."""
    confirmed, pending, consenting = db.session.execute(
        select(
            _count_where(CONFIRMED),
            _count_where(~CONFIRMED),
            _count_where(CONFIRMED & Signature.updates.is_(True)),
        )
    ).one()
    return Totals(int(confirmed), int(pending), int(consenting))


@dataclass(frozen=True)
class Day:
    day: date
    signed: int
    confirmed: int


def _per_day(column, since: datetime) -> Counter:
    day = func.date(column)
    rows = db.session.execute(select(day, func.count()).where(column >= since).group_by(day)).all()
    return Counter({str(value): int(count) for value, count in rows})


def per_day(days: int = 30, today: date | None = None) -> list[Day]:
    """Signatures made and confirmed on each of the last `days` days (UTC), oldest first."""
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), UTC)
    signed = _per_day(Signature.signed_at, since)
    confirmed = _per_day(Signature.confirmed_at, since)
    return [
        Day(day, signed[day.isoformat()], confirmed[day.isoformat()])
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def regions() -> list[tuple[str, int]]:
    """Confirmed signatures by province or territory (Canada) and by country elsewhere."""
    letter = func.upper(func.substr(Signature.postal_code, 1, 1))
    rows = db.session.execute(
        select(Signature.country, letter, func.count()).where(CONFIRMED).group_by(Signature.country, letter)
    ).all()
    tally: Counter = Counter()
    for country, first_letter, count in rows:
        if country == "CA":
            province = PROVINCES.get(first_letter or "")
            tally[str(province) if province else country_name("CA")] += count
        else:
            tally[country_name(country)] += count
    return tally.most_common()


def top_sources(limit: int = 10) -> list[tuple[str, int, int]]:
    """(source, signatures, confirmed) for the busiest ?source= tags."""
    total = func.count()
    rows = db.session.execute(
        select(Signature.source, total, _count_where(CONFIRMED))
        .where(Signature.source != "")
        .group_by(Signature.source)
        .order_by(total.desc())
        .limit(limit)
    ).all()
    return [(source, int(count), int(confirmed)) for source, count, confirmed in rows]


@dataclass(frozen=True)
class DomainRate:
    domain: str
    signatures: int
    confirmed: int

    @property
    def rate(self) -> float:
        return self.confirmed / self.signatures if self.signatures else 0.0


def domain_rates(limit: int = 10) -> list[DomainRate]:
    """Confirmation rate of the largest email domains: a low one means mail is not arriving."""
    total = func.count()
    rows = db.session.execute(
        select(Signature.email_domain, total, _count_where(CONFIRMED))
        .group_by(Signature.email_domain)
        .order_by(total.desc())
        .limit(limit)
    ).all()
    return [DomainRate(domain, int(count), int(confirmed)) for domain, count, confirmed in rows]


def latest_signatures(limit: int = 10) -> list[Signature]:
    """The newest signatures, confirmed or not."""
    return list(db.session.scalars(select(Signature).order_by(Signature.id.desc()).limit(limit)))


@dataclass(frozen=True)
class OutboxHealth:
    queued: int
    failed: int
    oldest_waiting: datetime | None


def outbox_health() -> OutboxHealth:
    """How much mail waits, how much failed for good, and since when the oldest has waited."""
    waiting = OutboxMessage.status.in_((OutboxMessage.QUEUED, OutboxMessage.SENDING))
    queued, failed, oldest = db.session.execute(
        select(
            _count_where(waiting),
            _count_where(OutboxMessage.status == OutboxMessage.FAILED),
            func.min(case((waiting, OutboxMessage.created_at))),
        )
    ).one()
    if isinstance(oldest, str):  # SQLite loses the column type inside CASE
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return OutboxHealth(int(queued), int(failed), oldest)


def domain_bursts(threshold: int, window: timedelta = timedelta(hours=1)) -> list[tuple[str, int]]:
    """Domains outside the large providers with at least `threshold` signatures in `window`:
    a sign of scripted signing, shown to organizers rather than silently blocked."""
    since = utcnow() - window
    total = func.count()
    rows = db.session.execute(
        select(Signature.email_domain, total)
        .where(Signature.signed_at >= since)
        .group_by(Signature.email_domain)
        .having(total >= threshold)
        .order_by(total.desc())
    ).all()
    return [(domain, int(count)) for domain, count in rows if domain not in LARGE_PROVIDERS]
