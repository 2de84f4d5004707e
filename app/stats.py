"""The organizer dashboard's figures: totals, days, regions, sources, domains, mail health.

The signature figures come from the tallies the database keeps as signatures change
(models.SignatureTally): a few hundred rows however many signatures there are. Each figure
is of the current campaign.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from .addresses import PROVINCES, country_name
from .campaign import current_campaign
from .domains import is_free_mail
from .extensions import db
from .mail import NO_SMTPUTF8
from .models import OutboxMessage, Signature, SignatureTally, utcnow

TALLY = SignatureTally


@dataclass(frozen=True)
class Totals:
    confirmed: int
    pending: int
    consenting: int


def _sum(column):
    return func.coalesce(func.sum(column), 0)


def _facet(facet: str, *columns, where=()):
    """The tallies of one facet, summed over their shards: (value, *sums) per value."""
    return (
        select(TALLY.value, *(_sum(column) for column in columns))
        .where(TALLY.campaign_id == current_campaign().id, TALLY.facet == facet, *where)
        .group_by(TALLY.value)
    )


def totals() -> Totals:
    """Confirmed, pending, and confirmed signers who consent to updates."""
    signed, confirmed, consenting = db.session.execute(
        select(_sum(TALLY.signed), _sum(TALLY.confirmed), _sum(TALLY.consenting)).where(
            TALLY.campaign_id == current_campaign().id, TALLY.facet == "all"
        )
    ).one()
    return Totals(int(confirmed), int(signed) - int(confirmed), int(consenting))


@dataclass(frozen=True)
class Day:
    day: date
    signed: int
    confirmed: int


def _per_day(facet: str, column, first: date) -> Counter:
    rows = db.session.execute(_facet(facet, column, where=[TALLY.value >= first.isoformat()])).all()
    return Counter({value: int(count) for value, count in rows})


def per_day(days: int = 30, today: date | None = None) -> list[Day]:
    """Signatures made and confirmed on each of the last `days` days (UTC), oldest first."""
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    signed = _per_day("signed_on", TALLY.signed, first)
    confirmed = _per_day("confirmed_on", TALLY.confirmed, first)
    return [
        Day(day, signed[day.isoformat()], confirmed[day.isoformat()])
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def regions() -> list[tuple[str, int]]:
    """Confirmed signatures by province or territory (Canada) and by country elsewhere."""
    confirmed = _sum(TALLY.confirmed)
    rows = db.session.execute(_facet("region", TALLY.confirmed).having(confirmed > 0)).all()
    tally: Counter = Counter()
    for value, count in rows:
        country, _dash, first_letter = value.partition("-")
        if country == "CA":
            province = PROVINCES.get(first_letter or "")
            tally[str(province) if province else country_name("CA")] += count
        else:
            tally[country_name(country)] += count
    return tally.most_common()


def top_sources(limit: int = 10) -> list[tuple[str, int, int]]:
    """(source, signatures, confirmed) for the busiest ?source= tags."""
    rows = db.session.execute(_largest("source", limit)).all()
    return [(source, int(count), int(confirmed)) for source, count, confirmed in rows]


def _largest(facet: str, limit: int):
    signed = _sum(TALLY.signed)
    return (
        _facet(facet, TALLY.signed, TALLY.confirmed)
        .having(signed > 0)
        .order_by(signed.desc(), TALLY.value)
        .limit(limit)
    )


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
    rows = db.session.execute(_largest("domain", limit)).all()
    return [DomainRate(domain, int(count), int(confirmed)) for domain, count, confirmed in rows]


def latest_signatures(limit: int = 10) -> list[Signature]:
    """The newest signatures, confirmed or not."""
    return list(
        db.session.scalars(
            select(Signature)
            .where(Signature.campaign_id == current_campaign().id)
            .order_by(Signature.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class OutboxHealth:
    queued: int
    failed: int
    oldest_waiting: datetime | None
    # Of the failed: addresses with non-ASCII letters before the @ that the relay cannot carry.
    no_smtputf8: int = 0


def outbox_health() -> OutboxHealth:
    """How much mail waits, how much failed for good, and since when the oldest has waited."""
    # Each a range of the (status, next_attempt_at) index: sent mail, which is nearly all of
    # it once a campaign is large, is never read.
    # The campaign's by a join, not `signature_id IN (its signatures)`: that list is every
    # signature of a large campaign, read for each figure (a third of a second at a million).
    waiting = OutboxMessage.status.in_((OutboxMessage.QUEUED, OutboxMessage.SENDING))
    of_campaign = Signature.campaign_id == current_campaign().id
    with_signature = (OutboxMessage.__table__.join(Signature, Signature.id == OutboxMessage.signature_id),)
    queued, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at))
        .select_from(*with_signature)
        .where(waiting, of_campaign)
    ).one()
    failed, no_smtputf8 = db.session.execute(
        select(func.count(), func.count().filter(OutboxMessage.last_error == NO_SMTPUTF8))
        .select_from(*with_signature)
        .where(OutboxMessage.status == OutboxMessage.FAILED, of_campaign)
    ).one()
    return OutboxHealth(int(queued), int(failed), oldest, int(no_smtputf8))


def domain_bursts(threshold: int, window: timedelta = timedelta(hours=1)) -> list[tuple[str, int]]:
    """Domains outside the free-mail providers (so large that many signatures from them in an
    hour mean nothing) with at least `threshold` signatures in `window`:
    a sign of scripted signing, shown to organizers rather than silently blocked."""
    since = utcnow() - window
    # Materialized first, so the planner reads the window through the signed_at index rather
    # than every row in email_domain order for the sake of the GROUP BY.
    recent = (
        select(Signature.email_domain)
        .where(Signature.signed_at >= since, Signature.campaign_id == current_campaign().id)
        .cte("recent")
        .prefix_with("MATERIALIZED")
    )
    total = func.count()
    rows = db.session.execute(
        select(recent.c.email_domain, total)
        .group_by(recent.c.email_domain)
        .having(total >= threshold)
        .order_by(total.desc())
    ).all()
    return [(domain, int(count)) for domain, count in rows if not is_free_mail(domain)]
