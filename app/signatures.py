"""The signing service: sign, resend, confirm, withdraw and list; it owns the transactions."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import Executable, bindparam, delete, insert, select, update

from .audit import ERASE, HIDE, PURGE, record_event
from .campaign import current_campaign
from .campaigns import campaign_by_id, campaign_scope
from .counter import add_to_count, forget_count
from .database import (
    checkpoint_erasure,
    insert_ignoring_duplicates,
    insert_ignoring_duplicates_on,
    write_transaction,
)
from .emails import ALREADY_SIGNED, CONFIRMATION
from .extensions import db
from .keyset import keyset_page
from .kinds import kind_for
from .mail import queue_email, queue_first_email, wake_deliverer
from .models import ConsentWording, ResendRequest, Signature, Submission, utcnow
from .submissions import (
    Submitted,
    adopt,
    drop_submissions,
    find_submission,
    newest_submission,
    of_signature,
    of_submission,
    record_kind_answers,
    split_answers,
    submit_again,
)
from .tallies import drop_empty_tallies
from .tokens import CONFIRM, WITHDRAW, ExpiredToken, InvalidToken, read_link


class UnknownSignature(InvalidToken):
    """The link was genuine, but its signature is gone (withdrawn or erased)."""


class ConfirmationsClosed(ExpiredToken):
    """The campaign closed more than CONFIRMATION_GRACE ago: a pending signature can no longer count."""


def _check_confirmable() -> None:
    if not current_campaign().takes_confirmations():
        raise ConfirmationsClosed()


@dataclass(frozen=True)
class NewSignature:
    """A validated, normalised sign form: its answers by column, and how they came."""

    answers: Mapping[str, object]
    language: str
    source: str
    consent_text: str

    @property
    def email(self) -> str:
        return str(self.answers["email"])

    @property
    def updates(self) -> bool:
        return bool(self.answers.get("updates"))


def consent_version(text: str) -> str:
    """A short, stable name for one exact consent wording."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


SIGNATURES = Signature.__table__


@cache
def _insert_signature(dialect: str):
    return insert_ignoring_duplicates_on(dialect, SIGNATURES).returning(SIGNATURES.c.id)


# Core statements on the tables, built once: each request only binds its values. (An
# ORM-enabled statement rebuilt per request cost more CPU than the rest of the sign path.)
_FIND_SIGNATURE = select(SIGNATURES.c.id, SIGNATURES.c.confirmed_at).where(
    SIGNATURES.c.campaign_id == bindparam("campaign"), SIGNATURES.c.email == bindparam("email")
)
_STILL_PENDING = (
    SIGNATURES.c.id == bindparam("signature_id"),
    SIGNATURES.c.campaign_id == bindparam("campaign"),
    SIGNATURES.c.confirmed_at.is_(None),
    SIGNATURES.c.anonymised_at.is_(None),
)
_CONFIRM = (
    update(SIGNATURES)
    .where(*_STILL_PENDING)
    .values(confirmed_at=bindparam("now", type_=SIGNATURES.c.confirmed_at.type))
)
_WITHDRAW = delete(SIGNATURES).where(*_STILL_PENDING)
_LOCK_SIGNATURE = (
    select(SIGNATURES.c.confirmed_at, SIGNATURES.c.anonymised_at)
    .where(SIGNATURES.c.id == bindparam("signature_id"), SIGNATURES.c.campaign_id == bindparam("campaign"))
    .with_for_update()
)


def _in_campaign():
    """The SQL condition of a signature of the current campaign."""
    return Signature.campaign_id == current_campaign().id


def _execute(statement: Executable, parameters: dict):
    """Run a Core statement on the session's connection, in its transaction."""
    return db.session.connection().execute(statement, parameters)


def _record_consent(text: str, language: str) -> str:
    version = consent_version(text)
    _execute(
        insert_ignoring_duplicates(ConsentWording),
        {"version": version, "language": language, "text": text, "first_shown_at": utcnow()},
    )
    return version


def _remind(signature_id: int, confirmed: bool) -> None:
    """Mail a known address again: an 'already signed' note if counted, else the newest pending
    submission's link (the signature's own when no one has submitted the address since)."""
    if confirmed:
        queue_email(signature_id, ALREADY_SIGNED)
    else:
        queue_email(signature_id, CONFIRMATION, submission_id=newest_submission(signature_id))


def _submit_again(signature_id: int, data: NewSignature) -> None:
    """A pending address submitted again: this submission is kept whole, with its own link.

    Whoever typed the address first decides nothing for whoever confirms: each link confirms
    the answers it was sent for (submissions.py).
    """
    consent = _record_consent(data.consent_text, data.language) if data.updates else None
    submission_id = submit_again(
        signature_id,
        data.answers,
        kind_for(current_campaign()).submission_letters(data),
        language=data.language,
        source=data.source,
        consent_version=consent,
    )
    queue_email(signature_id, CONFIRMATION, submission_id=submission_id)


def _sign_once(data: NewSignature) -> None:
    now = utcnow()
    consent = _record_consent(data.consent_text, data.language) if data.updates else None
    # The form's answers name their own columns; only what the service adds is listed here.
    campaign = current_campaign()
    kind = kind_for(campaign)
    row = {
        **split_answers(kind, data.answers)[0],
        "campaign_id": campaign.id,
        "revision_id": campaign.revision_id,
        "email_domain": data.email.rsplit("@", 1)[1],
        "updates_consented_at": now if data.updates else None,
        "consent_version": consent,
        "language": data.language,
        "source": data.source,
        "signed_at": now,
        "emails_queued": 1,
    }
    # One statement decides whether the address is new: a parallel signer with the same
    # address finds the row and takes the reminder branch instead of failing.
    connection = db.session.connection()
    new_id = connection.execute(_insert_signature(connection.dialect.name), row).scalar()
    if new_id is not None:
        record_kind_answers(kind, new_id, campaign.id, data.answers)
        queue_first_email(new_id, CONFIRMATION)
        kind.on_sign(new_id, data)
        return
    existing = connection.execute(_FIND_SIGNATURE, {"campaign": campaign.id, "email": data.email}).one()
    if existing.confirmed_at is not None:
        _remind(existing.id, confirmed=True)
    else:
        _submit_again(existing.id, data)


def sign(data: NewSignature) -> None:
    """Record a signature with its confirmation email, or remind an address that already signed.

    The caller learns nothing about which happened: the signer's page must read
    the same either way.
    """
    with write_transaction():
        _sign_once(data)
    wake_deliverer()


_ASK_RESEND = insert(ResendRequest.__table__)
# Requests answered per deliverer pass: a burst of /resend waits a pass or two, never a page.
RESEND_BATCH = 50


def resend(email: str) -> None:
    """Ask for the link again for an address: one INSERT, the same whether or not it signed, so
    neither the answer nor its timing tells; the deliverer answers it (answer_resends)."""
    with write_transaction():
        db.session.execute(
            _ASK_RESEND, {"campaign_id": current_campaign().id, "email": email, "created_at": utcnow()}
        )
    wake_deliverer()


def resends_waiting() -> bool:
    """A cheap read: is there a /resend to answer, of any campaign?"""
    return db.session.execute(select(ResendRequest.id).limit(1)).first() is not None


def answer_resends() -> int:
    """Answer the waiting /resend requests of every campaign, oldest first: a pending address
    gets its link again (or a signer an already-signed note); an unknown address, nothing. Each
    request is deleted as it is answered, and with it the address it held; how many were answered.

    After the deadline a pending signer still gets the link, as long as it could still count.
    """
    with write_transaction():
        requests = db.session.execute(
            select(ResendRequest.id, ResendRequest.campaign_id, ResendRequest.email)
            .order_by(ResendRequest.id)
            .limit(RESEND_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        # Answered in address order: every deliverer then locks signatures in one order, and
        # two answering batches that share addresses can't deadlock.
        for request in sorted(requests, key=lambda request: (request.email, request.campaign_id)):
            with campaign_scope(campaign_by_id(request.campaign_id)) as campaign:
                signature = db.session.execute(
                    select(Signature.id, Signature.confirmed_at, Signature.anonymised_at).where(
                        _in_campaign(), Signature.email == request.email
                    )
                ).first()
                if (
                    signature is not None
                    and signature.anonymised_at is None
                    and (signature.confirmed_at is not None or campaign.takes_confirmations())
                ):
                    _remind(signature.id, signature.confirmed_at is not None)
        if requests:
            db.session.execute(delete(ResendRequest).where(ResendRequest.id.in_([r.id for r in requests])))
    return len(requests)


def _signature_of_link(signature_id: int) -> Signature:
    """The link's signature, if it is of the campaign the link was followed at."""
    signature = db.session.get(Signature, signature_id)
    if (
        signature is None
        or signature.anonymised_at is not None
        or signature.campaign_id != current_campaign().id
    ):
        raise UnknownSignature()
    return signature


def signature_for_link(purpose: str, token: str) -> Signature:
    """The signature a link is for; raise ExpiredToken, InvalidToken or UnknownSignature."""
    signature_id, _ = read_link(purpose, token)
    if purpose == CONFIRM:
        _check_confirmable()
    return _signature_of_link(signature_id)


def submitted_for_link(purpose: str, token: str) -> tuple[Signature, Submitted]:
    """The signature a confirmation or withdrawal link is for, and what that link's submission
    said; raise ExpiredToken, InvalidToken or UnknownSignature (also for a submission that
    is gone: withdrawn, or dropped when another one was confirmed)."""
    signature_id, submission_id = read_link(purpose, token)
    if purpose == CONFIRM:
        _check_confirmable()
    signature = _signature_of_link(signature_id)
    if submission_id is None or signature.confirmed:
        return signature, of_signature(signature)
    submission = find_submission(signature_id, submission_id)
    if submission is None:
        raise UnknownSignature()
    return signature, of_submission(submission)


def _lock_signature(signature_id: int):
    """Within a write transaction: the signature's state, its row locked; raise UnknownSignature
    for one that is gone or anonymised."""
    row = _execute(_LOCK_SIGNATURE, {"signature_id": signature_id, "campaign": current_campaign().id}).first()
    if row is None or row.anonymised_at is not None:
        raise UnknownSignature()
    return row


def _count_confirmation(signature_id: int) -> None:
    kind = kind_for(current_campaign())
    if kind.counts_confirmed:
        add_to_count(+1)
    kind.on_confirm(signature_id)


def confirm(token: str) -> bool:
    """Count the link's signature with that link's answers; True if this call counted it, False
    if the address was counted already (by this link or another of its submissions).

    A later submission's answers replace the signature's first ones, and every other
    submission still waiting for the address is dropped with its link. Raise
    ConfirmationsClosed once the campaign has been closed for CONFIRMATION_GRACE.
    """
    _check_confirmable()
    signature_id, submission_id = read_link(CONFIRM, token)
    with write_transaction():
        # Locked first: two links of one address pressed at once count one after the other,
        # and the second finds the address confirmed.
        if _lock_signature(signature_id).confirmed_at is not None:
            return False
        if submission_id is not None:
            submission = find_submission(signature_id, submission_id)
            if submission is None:
                raise UnknownSignature()
            adopt(signature_id, submission)
        drop_submissions(signature_id)
        _execute(_CONFIRM, {"signature_id": signature_id, "campaign": current_campaign().id, "now": utcnow()})
        _count_confirmation(signature_id)
    forget_count()
    wake_deliverer()  # a kind may have queued mail at confirmation (letters to representatives)
    return True


def withdraw(token: str) -> bool:
    """ "This wasn't me": delete what the link was sent for while it is pending; False if the
    address is confirmed already.

    A later submission's link deletes that submission alone. The signature's own link
    deletes the signature and every submission of the address still waiting.
    """
    signature_id, submission_id = read_link(WITHDRAW, token)
    with write_transaction():
        if _lock_signature(signature_id).confirmed_at is not None:
            return False
        if submission_id is None:
            _execute(_WITHDRAW, {"signature_id": signature_id, "campaign": current_campaign().id})
        elif (
            db.session.execute(
                delete(Submission)
                .where(Submission.id == submission_id, Submission.signature_id == signature_id)
                .execution_options(synchronize_session=False)
            ).rowcount
            != 1
        ):
            raise UnknownSignature()
    return True


@dataclass(frozen=True)
class SignerPage:
    """One page of the public list of signers, and the cursors of the pages around it."""

    signers: list[tuple]
    next_cursor: str | None = None
    previous_cursor: str | None = None


SIGNERS_PER_PAGE = 50
_PUBLIC_SIGNERS = select(SIGNATURES.c.name, SIGNATURES.c.postal_code, SIGNATURES.c.country).where(
    SIGNATURES.c.public.is_(True), SIGNATURES.c.confirmed_at.is_not(None)
)
_NEWEST_FIRST = (SIGNATURES.c.confirmed_at.desc(), SIGNATURES.c.id.desc())


def public_signers(cursor: str | None, per_page: int = SIGNERS_PER_PAGE) -> SignerPage:
    """The current campaign's confirmed signers who chose to be listed, newest first: (name,
    postal code, country).

    Raise keyset.BadCursor for a cursor this list did not make.
    """
    listed = _PUBLIC_SIGNERS.where(SIGNATURES.c.campaign_id == current_campaign().id)
    page = keyset_page(listed, _NEWEST_FIRST, cursor, per_page)
    return SignerPage(page.rows, page.next_cursor, page.previous_cursor)


def find_signature(email: str) -> Signature | None:
    """The current campaign's signature of a normalised address, if any."""
    return db.session.scalar(select(Signature).where(_in_campaign(), Signature.email == email))


def _counted(signature_id: int):
    campaign = current_campaign()
    return select(kind_for(campaign).counted(campaign.id)).where(Signature.id == signature_id, _in_campaign())


def is_counted(signature_id: int) -> bool:
    """Whether the signature is in the count (the kind says what counts: an open letter, its
    listed signatories)."""
    return bool(db.session.scalar(_counted(signature_id)))


def _is_counted(signature_id: int) -> bool | None:
    """Within a write transaction: whether the signature is in the count, locking its row; None
    if there is no such signature."""
    row = db.session.execute(_counted(signature_id).with_for_update()).first()
    return None if row is None else bool(row[0])


def erase_signature(signature_id: int, actor: str, action: str = ERASE) -> bool:
    """Delete a signature and everything of it; the count drops if it was counted.

    Its links stop working (they name a row that is gone, and ids are never reused).
    The audit log records the erasure (`action`: an erasure, or an organizer's rejection)
    and by whom, nothing of the signer.
    """
    with write_transaction():
        was_counted = _is_counted(signature_id)
        kind_for(current_campaign()).on_erase(signature_id)
        erased = db.session.execute(
            delete(Signature)
            .where(Signature.id == signature_id, _in_campaign())
            # Not RETURNING Signature.confirmed: SQLite 3.40 answers true there for a pending row.
            .returning(Signature.confirmed_at)
            .execution_options(synchronize_session=False)
        ).first()
        if erased is None:
            return False
        was_confirmed = erased.confirmed_at is not None
        if was_counted:
            add_to_count(-1)
        record_event(
            actor, action, "confirmed signature" if was_confirmed else "unconfirmed signature", rows=1
        )
    if was_counted:
        forget_count()
    drop_empty_tallies()
    checkpoint_erasure()
    return True


def hide_signature(signature_id: int, actor: str) -> bool:
    """Take a name off the public list; False if there is no such signature.

    A petition's signature stays counted; where the count is of listed names (an open
    letter), the count drops.
    """
    with write_transaction():
        was_counted = _is_counted(signature_id)
        hidden = (
            db.session.execute(
                update(Signature)
                .where(Signature.id == signature_id, _in_campaign())
                .values(public=False)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )
        uncounted = hidden and was_counted and not _is_counted(signature_id)
        if uncounted:
            add_to_count(-1)
        if hidden:
            record_event(actor, HIDE, "name hidden from the public list", rows=1)
    if uncounted:
        forget_count()
    return hidden


def stop_updates(signature_id: int) -> None:
    """Withdraw consent to updates, at once; the signature stays counted."""
    with write_transaction():
        db.session.execute(
            update(Signature)
            .where(Signature.id == signature_id, _in_campaign())
            .values(updates=False, updates_consented_at=None, consent_version=None)
            .execution_options(synchronize_session=False)
        )


def stop_updates_everywhere(email: str) -> int:
    """Withdraw this address's consent to updates in every campaign of the organization, at
    once; how many signatures consented until now."""
    with write_transaction():
        return db.session.execute(
            update(Signature)
            .where(Signature.email == email, Signature.updates.is_(True))
            .values(updates=False, updates_consented_at=None, consent_version=None)
            .execution_options(synchronize_session=False)
        ).rowcount


def purge_unconfirmed(older_than_days: int, actor: str) -> int:
    """Delete the current campaign's signatures never confirmed within `older_than_days` of
    signing; how many."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    with write_transaction():
        purged = db.session.execute(
            delete(Signature)
            .where(_in_campaign(), ~Signature.confirmed, Signature.signed_at < cutoff)
            .execution_options(synchronize_session=False)
        ).rowcount
        record_event(actor, PURGE, f"unconfirmed for more than {older_than_days} days", rows=purged)
    if purged:
        drop_empty_tallies()
        checkpoint_erasure()
    return purged
