"""The confirmed count: sharded so no row is hot, cached briefly so reads are nearly free.

Each confirmation adds one to a randomly chosen shard row inside its own
transaction, so the count always equals the confirmed rows and concurrent
confirmations rarely wait on the same row. Reading sums a handful of rows,
and each process keeps the answer for COUNT_CACHE_SECONDS.
"""

import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from .campaign import current_campaign
from .extensions import db
from .kinds import kind_for
from .models import CountShard, LetterPdf, utcnow

CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class Tally:
    """What /api/count and the page show."""

    count: int
    goal: int
    updated_at: datetime
    # The kind's own figures, by name (a letter campaign's letters sent); none for a petition.
    parts: tuple[tuple[str, int], ...] = ()


def next_milestone(number: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, 100... above number."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale > number:
                return step * scale
        scale *= 10


def goal_for(count: int, campaign_goal: int) -> int:
    """The campaign's goal until it is reached, then the next milestone above the count."""
    return campaign_goal if count < campaign_goal else next_milestone(count)


_SHARDS = CountShard.__table__
# Built once: each confirmation only binds its shard, delta and time.
_ADD_TO_SHARD = (
    update(_SHARDS)
    .where(_SHARDS.c.campaign_id == bindparam("campaign"), _SHARDS.c.shard == bindparam("chosen_shard"))
    .values(
        count=_SHARDS.c.count + bindparam("delta"),
        updated_at=bindparam("now", type_=_SHARDS.c.updated_at.type),
    )
)


# An open letter's count is its list: when it drops, a name has left, and the PDFs built with
# it must never be served again (nor any build under way be stored: its lease goes too).
_DROP_LETTER_PDFS = (
    update(LetterPdf)
    .where(LetterPdf.campaign_id == bindparam("campaign"))
    .values(pdf=None, building_until=None, last_error=None)
)


def add_to_count(delta: int) -> None:
    """Change the current campaign's count within the caller's transaction."""
    connection = db.session.connection()
    campaign_id = current_campaign().id
    connection.execute(
        _ADD_TO_SHARD,
        {
            "campaign": campaign_id,
            "chosen_shard": random.randrange(CountShard.SHARDS),
            "delta": delta,
            "now": utcnow(),
        },
    )
    if delta < 0:
        connection.execute(_DROP_LETTER_PDFS, {"campaign": campaign_id})


class CountCache:
    """The last tally of one campaign read by this process, kept for a moment."""

    def __init__(
        self, campaign_id: int, seconds: float = CACHE_SECONDS, parts=None, sum_of_parts: bool = False
    ):
        self.campaign_id = campaign_id
        self.seconds = seconds
        self.parts = parts  # read with the count: the kind's figures, as a dict
        self.sum_of_parts = sum_of_parts  # the count is the sum of the parts (kinds.Kind)
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._value: tuple[int, datetime, tuple] | None = None

    def get(self) -> tuple[int, datetime, tuple]:
        now = time.monotonic()
        if self._value is not None and now - self._read_at < self.seconds:
            return self._value
        with self._lock:
            if self._value is None or time.monotonic() - self._read_at >= self.seconds:
                total, updated_at = db.session.execute(
                    select(
                        func.coalesce(func.sum(CountShard.count), 0), func.max(CountShard.updated_at)
                    ).where(CountShard.campaign_id == self.campaign_id)
                ).one()
                parts = tuple(self.parts().items()) if self.parts else ()
                if self.sum_of_parts:
                    total = sum(number for _name, number in parts)
                self._value = (int(total), updated_at or utcnow(), parts)
                self._read_at = time.monotonic()
            return self._value

    def fresh(self) -> tuple[int, datetime, tuple] | None:
        """The cached value if it is still fresh, without touching the database; else None."""
        value = self._value
        if value is not None and time.monotonic() - self._read_at < self.seconds:
            return value
        return None

    def forget(self) -> None:
        """Drop the cached value after this process changed the count."""
        self._read_at = float("-inf")


def tally_of(count: int, updated_at: datetime, parts: tuple, campaign_goal: int) -> Tally:
    return Tally(count=count, goal=goal_for(count, campaign_goal), updated_at=updated_at, parts=parts)


def count_cache(campaign) -> CountCache:
    """This process's CountCache of a campaign, made at its first use."""
    caches = current_app.extensions["count_caches"]
    cache = caches.get(campaign.id)
    if cache is None:
        kind = kind_for(campaign)
        cache = caches.setdefault(
            campaign.id,
            CountCache(campaign.id, parts=kind.count_parts, sum_of_parts=kind.count_is_sum_of_parts),
        )
    return cache


def current_tally() -> Tally:
    """The current campaign's count (confirmed signatures, or what the kind counts), the goal in
    force, when the count last changed, and the kind's parts of it."""
    campaign = current_campaign()
    count, updated_at, parts = count_cache(campaign).get()
    return tally_of(count, updated_at, parts, campaign.goal)


def forget_count() -> None:
    """Make this process read the current campaign's count afresh on its next request."""
    count_cache(current_campaign()).forget()
