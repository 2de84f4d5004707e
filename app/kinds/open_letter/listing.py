"""Who is on the open letter: the listed signatories, page by page, their counts, and the queue."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...campaign import current_campaign
from ...counter import current_tally
from ...extensions import db
from ...models import Signature, utcnow
from .form import INDIVIDUAL, ORGANIZATION
from .models import Signatory
from .vetting import Vetted, vet

PAGE_SIZE = 50
QUEUE_PAGE = 50


def _of_this_letter():
    return Signature.campaign_id == current_campaign().id


def signatories():
    """The signatures of the letter with their signatory rows: select from this, then filter
    with listed() or waiting()."""
    return Signatory.__table__.join(Signature, Signature.id == Signatory.signature_id)


def _could_be_listed(campaign_id: int | None = None):
    """Of that campaign's letter (by default the current one's), confirmed, public, not anonymised."""
    return (
        (Signature.campaign_id == (current_campaign().id if campaign_id is None else campaign_id))
        & Signature.confirmed
        & Signature.public.is_(True)
        & Signature.anonymised_at.is_(None)
    )


def listed():
    """Listed on the current campaign's letter, in a query over signatories(): confirmed,
    approved, not withdrawn from the list, not anonymised."""
    return _could_be_listed() & Signatory.approved_at.is_not(None)


def counted(campaign_id: int):
    """listed() on that campaign's letter, as a condition on `signatures` alone (Kind.counted)."""
    approved = (
        select(Signatory.signature_id)
        .where(Signatory.signature_id == Signature.id, Signatory.approved_at.is_not(None))
        .exists()
    )
    return _could_be_listed(campaign_id) & approved


def waiting():
    """Confirmed signatories an organizer has not approved yet (a rejected one is erased), in a
    query over signatories()."""
    return _could_be_listed() & Signatory.approved_at.is_(None)


@dataclass(frozen=True)
class Organization:
    id: int
    name: str
    website: str


@dataclass(frozen=True)
class Individual:
    id: int
    name: str
    title: str
    organization: str


COLUMNS = {
    ORGANIZATION: (Organization, (Signature.id, Signature.name, Signatory.website)),
    INDIVIDUAL: (Individual, (Signature.id, Signature.name, Signatory.title, Signatory.organization)),
}


@dataclass(frozen=True)
class ListPage:
    """One page of one list, in signing order; `next_after` is the cursor of the next page, if any."""

    rows: list
    after: int
    next_after: int | None


def listed_page(signatory_type: str, after: int = 0, limit: int = PAGE_SIZE) -> ListPage:
    """The listed signatories of one type after the id `after` (keyset: no OFFSET to walk)."""
    row_type, columns = COLUMNS[signatory_type]
    rows = db.session.execute(
        select(*columns)
        .select_from(signatories())
        .where(
            Signatory.campaign_id == current_campaign().id,
            Signatory.signatory_type == signatory_type,
            Signatory.signature_id > after,
            listed(),
        )
        .order_by(Signatory.signature_id)
        .limit(limit + 1)
    ).all()
    shown = [row_type(*row) for row in rows[:limit]]
    return ListPage(rows=shown, after=after, next_after=shown[-1].id if len(rows) > limit else None)


def listed_signatories() -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """Everyone on the letter, in signing order: organizations (name, website or ""), then
    individuals (name, title, organization)."""
    rows = db.session.execute(
        select(
            Signatory.signatory_type,
            Signature.name,
            Signatory.website,
            Signatory.title,
            Signatory.organization,
        )
        .select_from(signatories())
        .where(listed())
        .order_by(Signature.id)
    ).all()
    organizations = [(row.name, row.website) for row in rows if row.signatory_type == ORGANIZATION]
    individuals = [
        (row.name, row.title, row.organization) for row in rows if row.signatory_type != ORGANIZATION
    ]
    return organizations, individuals


def listed_counts() -> dict[str, int]:
    """How many organizations and individuals are on the letter."""
    rows = db.session.execute(
        select(Signatory.signatory_type, func.count())
        .select_from(signatories())
        .where(Signatory.campaign_id == current_campaign().id, listed())
        .group_by(Signatory.signatory_type)
    ).all()
    counts = dict(rows)
    return {"organizations": int(counts.get(ORGANIZATION, 0)), "individuals": int(counts.get(INDIVIDUAL, 0))}


def listing_version() -> tuple:
    """Changes whenever the listed set does: every listing and unlisting moves the count (and its
    time), and retention's anonymisation takes everyone off at once."""
    tally = current_tally()
    anonymise_at = current_campaign().anonymise_at()
    anonymised = (
        anonymise_at is not None
        and utcnow() >= anonymise_at
        and db.session.execute(
            select(Signature.id).where(_of_this_letter(), Signature.anonymised_at.is_not(None)).limit(1)
        ).first()
        is not None
    )
    return (tally.count, tally.updated_at, anonymised)


@dataclass(frozen=True)
class Queue:
    """The moderation queue as the dashboard shows it, and the totals on the letter."""

    waiting: int
    oldest: datetime | None
    rows: list[Vetted]
    organizations: int
    individuals: int

    @property
    def flagged(self) -> int:
        """How many of the rows shown are flagged (approving the page skips them)."""
        return sum(row.flagged for row in self.rows)

    @property
    def oldest_age(self) -> timedelta | None:
        """How long the longest-waiting signatory has waited since confirming."""
        return None if self.oldest is None else utcnow() - self.oldest


def waiting_count() -> int:
    """How many confirmed signatories wait for an organizer."""
    return int(db.session.scalar(select(func.count()).select_from(signatories()).where(waiting())))


def moderation_queue(limit: int = QUEUE_PAGE) -> Queue:
    """Confirmed signatories waiting for an organizer, oldest confirmation first."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(Signature.confirmed_at)).select_from(signatories()).where(waiting())
    ).one()
    rows = [
        vet(signature, signatory)
        for signature, signatory in db.session.execute(
            select(Signature, Signatory)
            .join(Signatory, Signatory.signature_id == Signature.id)
            .where(waiting())
            .order_by(Signature.confirmed_at, Signature.id)
            .limit(limit)
        )
    ]
    counts = listed_counts()
    return Queue(
        waiting=int(count),
        oldest=oldest,
        rows=rows,
        organizations=counts["organizations"],
        individuals=counts["individuals"],
    )
