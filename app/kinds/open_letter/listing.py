"""Who is on the open letter: the listed signatories, page by page, their counts, and the queue."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...campaign import current_campaign
from ...counter import current_tally
from ...extensions import db
from ...models import Signature, utcnow
from .form import INDIVIDUAL, ORGANIZATION
from .vetting import Vetted, vet

PAGE_SIZE = 50
QUEUE_PAGE = 50


def _of_this_letter():
    return Signature.campaign_id == current_campaign().id


def listed():
    """Listed on the current campaign's letter: confirmed, approved, not withdrawn from the
    list, not anonymised."""
    return (
        _of_this_letter()
        & Signature.confirmed
        & Signature.approved_at.is_not(None)
        & Signature.public.is_(True)
        & Signature.anonymised_at.is_(None)
    )


def waiting():
    """Confirmed signatories an organizer has not approved yet (a rejected one is erased)."""
    return (
        _of_this_letter()
        & Signature.confirmed
        & Signature.approved_at.is_(None)
        & Signature.public.is_(True)
        & Signature.anonymised_at.is_(None)
    )


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
    ORGANIZATION: (Organization, (Signature.id, Signature.name, Signature.website)),
    INDIVIDUAL: (Individual, (Signature.id, Signature.name, Signature.title, Signature.organization)),
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
        .where(Signature.signatory_type == signatory_type, Signature.id > after, listed())
        .order_by(Signature.id)
        .limit(limit + 1)
    ).all()
    shown = [row_type(*row) for row in rows[:limit]]
    return ListPage(rows=shown, after=after, next_after=shown[-1].id if len(rows) > limit else None)


def listed_signatories() -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """Everyone on the letter, in signing order: organizations (name, website or ""), then
    individuals (name, title, organization)."""
    rows = db.session.execute(
        select(
            Signature.signatory_type,
            Signature.name,
            Signature.website,
            Signature.title,
            Signature.organization,
        )
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
        select(Signature.signatory_type, func.count()).where(listed()).group_by(Signature.signatory_type)
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
    return int(db.session.scalar(select(func.count()).select_from(Signature).where(waiting())))


def moderation_queue(limit: int = QUEUE_PAGE) -> Queue:
    """Confirmed signatories waiting for an organizer, oldest confirmation first."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(Signature.confirmed_at)).where(waiting())
    ).one()
    rows = [
        vet(signature)
        for signature in db.session.scalars(
            select(Signature).where(waiting()).order_by(Signature.confirmed_at, Signature.id).limit(limit)
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
