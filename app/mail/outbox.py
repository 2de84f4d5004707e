"""The outbox table's rules: what may be queued, and how deliverers claim, hold and give back mail.

A deliverer claims a batch of due messages (an atomic UPDATE ... RETURNING, with SKIP
LOCKED on PostgreSQL) under a short lease, and renews the lease of the whole batch
before it hands each message to the server. A lease that runs out, whatever its
deliverer was doing, makes the messages takeable again: a message handed over
without a recorded answer is sent again (at least once, never lost).
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, insert, literal, or_, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import Letter, OutboxMessage, Signature, utcnow
from .ceiling import WAITS_FOR_NEXT_DAY, give_back_place, letter_day, next_day_starts, take_place

MAX_EMAILS_PER_SIGNATURE = 5
EMAIL_WINDOW = timedelta(days=1)
# Past the day's five, one more email an hour at most: a flood is held to a trickle, and the
# address's owner, signing an hour after someone else used up the five, still gets a link.
EMAIL_SPACING_PAST_CAP = timedelta(hours=1)
BATCH_SIZE = 10
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
# A letter to a representative: the one outbox message of the kind that never goes to the signer.
LETTER = "letter"
# The reason recorded on a message whose non-ASCII address the relay cannot carry (no SMTPUTF8).
NO_SMTPUTF8 = "the mail server has no SMTPUTF8 for this address"


def queue_email(
    signature_id: int, kind: str, now: datetime | None = None, submission_id: int | None = None
) -> bool:
    """Add a message for the signature to the outbox, within the caller's transaction (a
    confirmation email for one of its later submissions, with `submission_id`).

    Returns False, queueing nothing, once the signature has had its share of mail in the
    last EMAIL_WINDOW and another within the last EMAIL_SPACING_PAST_CAP, so nobody can use
    the form to flood an inbox, and its owner, however often someone else asked for a link,
    gets one for their own submission within the hour.
    """
    now = now or utcnow()
    # Lock the signature's row first (SQLite's write transaction locks everything already):
    # parallel requests for one address then count one after another, each seeing the mail
    # the ones before it queued.
    if (
        db.session.execute(select(Signature.id).where(Signature.id == signature_id).with_for_update()).first()
        is None
    ):
        return False
    recent, last = db.session.execute(
        select(func.count(), func.max(OutboxMessage.created_at)).where(
            OutboxMessage.signature_id == signature_id,
            OutboxMessage.letter_id.is_(None),  # letters go to representatives, not to this inbox
            OutboxMessage.created_at > now - EMAIL_WINDOW,
        )
    ).one()
    if recent >= MAX_EMAILS_PER_SIGNATURE and last > now - EMAIL_SPACING_PAST_CAP:
        return False
    db.session.execute(
        update(Signature)
        .where(Signature.id == signature_id)
        .values(emails_queued=Signature.emails_queued + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        insert(OutboxMessage).values(
            signature_id=signature_id, kind=kind, created_at=now, submission_id=submission_id
        )
    )
    return True


# Built once: the sign path only binds its values (the columns' defaults fill in the rest).
_QUEUE_FIRST = insert(OutboxMessage.__table__)


def queue_first_email(signature_id: int, kind: str) -> None:
    """Add a new signature's first message to the outbox, within the caller's transaction.

    The signature's row was written counting this message already (emails_queued=1), and
    nothing else can have mailed an address that was not there a moment ago.
    """
    db.session.connection().execute(_QUEUE_FIRST, {"signature_id": signature_id, "kind": kind})


def queue_letters(signature_id: int, sent_at: datetime | None = None) -> int:
    """Queue one email per letter of a just-confirmed signature, within the caller's transaction; how many.

    A letter already queued is not queued again (and the outbox's unique letter_id would refuse it).
    With `sent_at` (fictional demo letters only) they are recorded as sent then, and never sent.
    """
    now = literal(sent_at or utcnow(), OutboxMessage.created_at.type)
    status = OutboxMessage.SENT if sent_at else OutboxMessage.QUEUED
    letters = select(
        Letter.signature_id,
        literal(LETTER),
        Letter.id,
        literal(status),
        literal(0),
        now,
        now,
        literal(sent_at, OutboxMessage.sent_at.type),
    ).where(
        Letter.signature_id == signature_id,
        ~select(OutboxMessage.id).where(OutboxMessage.letter_id == Letter.id).exists(),
    )
    columns = (
        "signature_id",
        "kind",
        "letter_id",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "sent_at",
    )
    return db.session.execute(insert(OutboxMessage).from_select(columns, letters)).rowcount


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 30 s, 1 min, 2 min, ... at most an hour."""
    doublings = min(max(attempts - 1, 0), 16)  # 2**16 x 30 s is far past the cap already
    return min(RETRY_BASE * 2**doublings, RETRY_CAP)


def lease_length() -> timedelta:
    """How long a claim lasts unrenewed: MAIL_LEASE, or longer if one SMTP exchange may take longer.

    An exchange slower than the lease can lead to a second copy, never to a lost message.
    """
    config = current_app.config
    return max(timedelta(seconds=config["MAIL_LEASE"]), 3 * timedelta(seconds=config["MAIL_TIMEOUT"]))


def _takeable(now: datetime):
    """Queued and due, or held under a lease that ran out (its deliverer died, whatever it was doing)."""
    return or_(
        and_(OutboxMessage.status == OutboxMessage.QUEUED, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxMessage.SENDING, OutboxMessage.lease_until < now),
    )


def claim_due(now: datetime, limit: int = BATCH_SIZE) -> list[int]:
    """Atomically take up to `limit` due messages under a lease from `now`; their ids."""
    return claim_with_lease(now, now + lease_length(), limit)


def _set_outbox(where, **values) -> list[int]:
    """Change the outbox rows that match, within the caller's transaction; their ids."""
    return list(
        db.session.execute(
            update(OutboxMessage)
            .where(where)
            .values(**values)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )


def _update_outbox(where, **values) -> list[int]:
    """Change the outbox rows that match, in a write transaction of its own; their ids."""
    with write_transaction():
        return _set_outbox(where, **values)


def claim_with_lease(now: datetime, lease: datetime, limit: int) -> list[int]:
    """Atomically take up to `limit` due messages under the given lease; their ids."""
    due = (
        select(OutboxMessage.id)
        .where(_takeable(now))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = _update_outbox(
        OutboxMessage.id.in_(due.scalar_subquery()),
        status=OutboxMessage.SENDING,
        lease_until=lease,
        attempts=OutboxMessage.attempts + 1,
    )
    return sorted(claimed)


def has_due(now: datetime) -> bool:
    """A cheap read, so idle deliverers never take SQLite's write lock."""
    return db.session.execute(select(OutboxMessage.id).where(_takeable(now)).limit(1)).first() is not None


class Claim:
    """The messages one deliverer holds, known by the lease it last wrote on them.

    Whoever takes a message over writes a lease of its own, so from then on this
    holder's writes miss that message: two deliverers never both record an outcome.
    """

    def __init__(self, ids: list[int], lease: datetime):
        self.ids = ids
        self.lease = lease

    def _held(self, ids: list[int]):
        return and_(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == OutboxMessage.SENDING,
            OutboxMessage.lease_until == self.lease,
        )

    def hand_over(self, message_id: int, now: datetime, letter_id: int | None = None) -> bool:
        """Renew the lease of everything still held and mark one message as handed to the
        server; False if another deliverer has taken that message over.

        A letter (`letter_id`) is also counted against its representative's day, in the same
        transaction, unless it was when first handed over (its outcome unknown, it is sent
        again). When the day's places are all taken it is not handed over (False): it goes
        back to the queue until the next day begins, its attempt not counted.
        """
        lease = now + lease_length()
        with write_transaction():
            held = _set_outbox(
                self._held(self.ids),
                lease_until=lease,
                # Typed as the column, so the time is stored in UTC like every other.
                handed_at=case(
                    (OutboxMessage.id == message_id, literal(now, OutboxMessage.handed_at.type)),
                    else_=OutboxMessage.handed_at,
                ),
            )
            self.lease = lease
            if message_id not in held or letter_id is None:
                return message_id in held
            counted = select(OutboxMessage.counted_day).where(OutboxMessage.id == message_id)
            if db.session.scalar(counted) is not None:
                return True
            day = letter_day(now)
            if take_place(letter_id, day):
                _set_outbox(OutboxMessage.id == message_id, counted_day=day)
                return True
            _set_outbox(
                self._held([message_id]),
                status=OutboxMessage.QUEUED,
                lease_until=None,
                handed_at=None,
                attempts=OutboxMessage.attempts - 1,
                next_attempt_at=literal(next_day_starts(day), OutboxMessage.next_attempt_at.type),
                last_error=WAITS_FOR_NEXT_DAY,
            )
            return False

    def _give_back_places(self, ids: list[int]) -> None:
        """Letters among `ids` counted against a day and not sent give their places back."""
        if not ids:
            return
        counted = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.letter_id, OutboxMessage.counted_day).where(
                OutboxMessage.id.in_(ids), OutboxMessage.counted_day.is_not(None)
            )
        ).all()
        for message_id, letter_id, day in counted:
            give_back_place(letter_id, day)
            _set_outbox(OutboxMessage.id == message_id, counted_day=None)

    def finish(self, message_id: int, **values) -> None:
        """Record a message's outcome and let go of it (a letter not sent gives its place back)."""
        with write_transaction():
            finished = _set_outbox(self._held([message_id]), lease_until=None, **values)
            if values.get("status") != OutboxMessage.SENT:
                self._give_back_places(finished)

    def release(self, ids: list[int]) -> None:
        """Give messages back untried: due at once, and the attempt not counted."""
        with write_transaction():
            released = _set_outbox(
                self._held(ids),
                status=OutboxMessage.QUEUED,
                lease_until=None,
                handed_at=None,
                attempts=OutboxMessage.attempts - 1,
            )
            self._give_back_places(released)


def refused_lately(now: datetime | None = None):
    """Messages the relay refused in the last EMAIL_WINDOW because their address is not ASCII."""
    return and_(
        OutboxMessage.status == OutboxMessage.FAILED,
        OutboxMessage.last_error == NO_SMTPUTF8,
        OutboxMessage.created_at > (now or utcnow()) - EMAIL_WINDOW,
    )


def cannot_reach(email: str, now: datetime | None = None) -> bool:
    """The relay has lately refused addresses like this one (non-ASCII before the @, no SMTPUTF8).

    A fact about the relay, never about the address: the answer is the same whether or not
    it has signed, so telling the signer reveals nothing.
    """
    if email.isascii():
        return False
    refused = select(OutboxMessage.id).where(refused_lately(now)).limit(1)
    return db.session.execute(refused).first() is not None
