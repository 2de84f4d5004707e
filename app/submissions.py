"""What one submission of the sign form says, whether it is a signature's own first answers or a
later submission of the same pending address (models.Submission), and how a confirmed one
becomes the signature's answers.

An address's owner and anyone else may each type it into the form before it is confirmed.
Each submission keeps its own answers and gets its own link; the confirmation email and
page show what that link would confirm, and confirming writes those answers alone.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, update

from .campaign import current_campaign
from .extensions import db
from .kinds import Kind, kind_for
from .models import Letter, OutboxMessage, Signature, Submission, utcnow

# The signature's columns a sign form may answer; the signing service adds the rest (the
# address and its domain, the times, the counters). A kind's form answers its own columns too
# (Kind.answer_columns, in its own table). A submission writes these and no others.
ANSWER_COLUMNS = ("name", "postal_code", "country", "comment", "public", "updates")
# A letter's representatives as they were found: the letters table's own columns.
LETTER_COLUMNS = ("target_id", "name", "role", "email", "area")


@dataclass(frozen=True)
class Submitted:
    """What one link would confirm: the answers by column, and a letter's recipients (each with
    the LETTER_COLUMNS, as a row or a mapping)."""

    answers: Mapping[str, object]
    letters: list = field(default_factory=list)
    submission_id: int | None = None


def letter_rows(targets) -> list[dict]:
    """The recipients of a letter as the letters table keeps them: who each representative was
    when found (cut to the columns' lengths: Represent's names and areas are not ours to bound)."""
    return [
        {
            "target_id": target.id,
            "name": target.name[:200],
            "role": target.role[:200],
            "email": target.email,
            "area": target.area[:200],
        }
        for target in targets
    ]


def letters_of(signature_id: int) -> list[Letter]:
    """A signature's letters, in the order they were chosen."""
    return list(
        db.session.scalars(select(Letter).where(Letter.signature_id == signature_id).order_by(Letter.id))
    )


def record_letters(signature_id: int, rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(Letter), [{**row, "signature_id": signature_id} for row in rows])


def _kind() -> Kind:
    return kind_for(current_campaign())


def answer_columns(kind: Kind) -> tuple[str, ...]:
    """Every column a sign form of this kind answers: the signature's, then the kind's own."""
    return ANSWER_COLUMNS + kind.answer_columns


def split_answers(kind: Kind, answers: Mapping[str, object]) -> tuple[dict, dict]:
    """A form's answers (the address among them) as (the signature's columns, the kind's own
    table's columns)."""
    own = {column: answers[column] for column in kind.answer_columns if column in answers}
    return {column: value for column, value in answers.items() if column not in own}, own


def record_kind_answers(kind: Kind, signature_id: int, campaign_id: int, answers: Mapping[str, object]):
    """Write the kind's own row of a new signature (within the caller's transaction)."""
    if kind.answers_model is not None:
        own = split_answers(kind, answers)[1]
        db.session.execute(
            insert(kind.answers_model).values(signature_id=signature_id, campaign_id=campaign_id, **own)
        )


def kind_answers(kind: Kind, signature_id: int) -> dict:
    """The kind's own answers of a signature, by column (none for a kind that asks none)."""
    if kind.answers_model is None:
        return {}
    row = db.session.get(kind.answers_model, signature_id)
    return {} if row is None else {column: getattr(row, column) for column in kind.answer_columns}


def of_signature(signature: Signature) -> Submitted:
    """What the signature's own link confirms: its row's answers, its kind's, and its letters."""
    answers = {column: getattr(signature, column) for column in ANSWER_COLUMNS}
    answers.update(kind_answers(_kind(), signature.id))
    return Submitted(answers, letters_of(signature.id))


def of_submission(submission: Submission) -> Submitted:
    """What a later submission's link confirms."""
    kept = answer_columns(_kind())
    answers = {column: submission.answers[column] for column in kept if column in submission.answers}
    return Submitted(answers, list(submission.letters or []), submission.id)


def find_submission(signature_id: int, submission_id: int) -> Submission | None:
    """The submission, if it is still waiting and belongs to that signature."""
    submission = db.session.get(Submission, submission_id)
    return submission if submission is not None and submission.signature_id == signature_id else None


def submit_again(signature_id: int, answers: Mapping[str, object], letters: list[dict], **how) -> int:
    """Keep a later submission of a pending address; its id. `how`: language, source, consent_version."""
    kept = {column: answers[column] for column in answer_columns(_kind()) if column in answers}
    return db.session.execute(
        insert(Submission)
        .values(signature_id=signature_id, answers=kept, letters=letters, submitted_at=utcnow(), **how)
        .returning(Submission.id)
    ).scalar_one()


def newest_submission(signature_id: int) -> int | None:
    """The latest submission still waiting for the address, if any."""
    return db.session.scalar(
        select(Submission.id)
        .where(Submission.signature_id == signature_id)
        .order_by(Submission.id.desc())
        .limit(1)
    )


def adopt(signature_id: int, submission: Submission) -> None:
    """Make a submission's answers, consent and letters the signature's, within the caller's
    transaction (it is being confirmed): nothing of the row's earlier answers stays."""
    kind = _kind()
    answers, own = split_answers(kind, of_submission(submission).answers)
    if own:
        model = kind.answers_model
        db.session.execute(
            update(model)
            .where(model.signature_id == signature_id)
            .values(**own)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        update(Signature)
        .where(Signature.id == signature_id)
        .values(
            **answers,
            language=submission.language,
            source=submission.source,
            consent_version=submission.consent_version if answers.get("updates") else None,
            updates_consented_at=submission.submitted_at if answers.get("updates") else None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(Letter).where(Letter.signature_id == signature_id))
    record_letters(signature_id, list(submission.letters or []))


def drop_submissions(signature_id: int) -> None:
    """Forget every submission still waiting for the address: their emails not yet handed to the
    mail server go with them; those sent stay, counted against the address's daily five."""
    dropped = select(Submission.id).where(Submission.signature_id == signature_id)
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.submission_id.in_(dropped),
            (OutboxMessage.status != OutboxMessage.QUEUED) | OutboxMessage.handed_at.is_not(None),
        )
        .values(submission_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(Submission)
        .where(Submission.signature_id == signature_id)
        .execution_options(synchronize_session=False)
    )
