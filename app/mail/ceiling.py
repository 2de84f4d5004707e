"""Each representative's daily ceiling, and the letters-sent figures that outlive their writers.

A letter takes one of its representative's letters for the day (the campaign's time zone)
as it is handed to the mail server, in the same transaction; when the day's are all taken,
it goes back to the queue until the next day begins, and the dashboard says so. A send that
fails gives its place back. The day rows (models.LetterDay) hold nothing of any writer, so
"letters sent" and the per-representative figures stay when a writer is erased.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select, update

from ..campaign import current_campaign
from ..database import insert_ignoring_duplicates
from ..extensions import db
from ..models import Letter, LetterDay

# Kept as the queued letter's last_error: the dashboard counts the letters it holds back.
WAITS_FOR_NEXT_DAY = "waits: the representative has had the day's letters"


def letter_day(now: dt.datetime) -> dt.date:
    """The campaign's calendar day at `now`."""
    return now.astimezone(ZoneInfo(current_campaign().timezone)).date()


def next_day_starts(day: dt.date) -> dt.datetime:
    """When the day after `day` begins in the campaign's time zone, in UTC."""
    zone = ZoneInfo(current_campaign().timezone)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)


def _campaign_id() -> int:
    return current_campaign().id


def _bump(target_id: str, day: dt.date, by: int, ceiling: int | None):
    where = (
        (LetterDay.campaign_id == _campaign_id())
        & (LetterDay.target_id == target_id)
        & (LetterDay.day == day)
    )
    if ceiling is not None:
        where &= LetterDay.sent < ceiling
    return db.session.scalar(
        update(LetterDay)
        .where(where)
        .values(sent=LetterDay.sent + by)
        .returning(LetterDay.sent)
        .execution_options(synchronize_session=False)
    )


def _count_one(letter, day: dt.date, ceiling: int | None) -> bool:
    """One more letter for `letter`'s representative on `day`, unless `ceiling` is reached; whether
    it was counted. The day's row is made by the first letter of the day."""
    if _bump(letter.target_id, day, 1, ceiling) is not None:
        return True
    started = db.session.scalar(
        insert_ignoring_duplicates(LetterDay).returning(LetterDay.sent),
        {
            "campaign_id": _campaign_id(),
            "target_id": letter.target_id,
            "day": day,
            "name": letter.name,
            "role": letter.role,
            "sent": 1,
        },
    )
    # None: the day's row was there (full) or was written meanwhile (then try it once more).
    return started is not None or _bump(letter.target_id, day, 1, ceiling) is not None


def take_place(letter_id: int, day: dt.date) -> bool:
    """Count the letter among its representative's for `day`, within the caller's write
    transaction; False, counting nothing, when the day's ceiling is reached."""
    letter = db.session.execute(
        select(Letter.target_id, Letter.name, Letter.role).where(Letter.id == letter_id)
    ).one()
    return _count_one(letter, day, current_app.config["LETTERS_PER_REPRESENTATIVE_DAILY"])


def give_back_place(letter_id: int, day: dt.date) -> None:
    """A letter counted for `day` was not sent after all (within the caller's transaction)."""
    target_id = db.session.scalar(select(Letter.target_id).where(Letter.id == letter_id))
    if target_id is not None:
        _bump(target_id, day, -1, None)


def count_as_sent(signature_id: int, day: dt.date) -> None:
    """The demo's fictional letters, recorded as sent without being mailed, count like real ones
    (past any ceiling: they are the campaign's history)."""
    for letter in db.session.scalars(select(Letter).where(Letter.signature_id == signature_id)):
        _count_one(letter, day, None)


def letters_sent() -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LetterDay.sent), 0)).where(LetterDay.campaign_id == _campaign_id())
        )
    )


def sent_by_representative() -> dict[str, tuple[str, str, int]]:
    """Each representative written to: (name, role, letters sent), whoever wrote them."""
    rows = db.session.execute(
        select(
            LetterDay.target_id, func.max(LetterDay.name), func.max(LetterDay.role), func.sum(LetterDay.sent)
        )
        .where(LetterDay.campaign_id == _campaign_id())
        .group_by(LetterDay.target_id)
    ).all()
    return {row[0]: (row[1], row[2], int(row[3])) for row in rows}
