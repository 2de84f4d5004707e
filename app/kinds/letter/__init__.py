"""Letters to representatives: a postal code finds them, the signer edits the campaign's letter,
and once the signer's address is confirmed the letter goes to each one chosen, by email."""

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update

from ...addresses import one_person
from ...campaign import CampaignError, current_campaign
from ...database import insert_ignoring_duplicates
from ...extensions import db, keyed_hash
from ...mail import LETTER, queue_letters
from ...mail.ceiling import (
    WAITS_FOR_NEXT_DAY,
    count_as_sent,
    letter_day,
    letters_sent,
    sent_by_representative,
)
from ...models import Letter as LetterRow
from ...models import LetterWriter, OutboxMessage, Signature
from ...submissions import letter_rows, letters_of, record_letters
from ...targets import TargetList, load_targets
from ..petition import Petition
from ..wording import LetterWording
from .form import MESSAGE_MAX, MESSAGE_UNSAFE, SUBJECT_MAX, SUBJECT_UNSAFE, LetterForm
from .mail import render_letter
from .models import WrittenLetter
from .views import bp

LEVEL = re.compile(r"[^\x00-\x1f]{1,100}")
LETTER_KEYS = frozenset({"subject", "message"})


@dataclass(frozen=True)
class LetterSettings:
    """The representatives a letter can go to, and the Represent levels to ask for."""

    targets: TargetList
    represent_levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class LetterText:
    """The campaign's letter in one language, which each signer edits."""

    subject: str
    message: str


@dataclass(frozen=True)
class TargetFigures:
    """One representative's letters: sent, waiting in the outbox, failed, and not yet confirmed."""

    target_id: str
    name: str
    role: str
    sent: int
    waiting: int
    next_day: int  # of those waiting, held back by the day's ceiling
    failed: int
    unconfirmed: int

    @property
    def total(self) -> int:
        return self.sent + self.waiting + self.failed + self.unconfirmed


def _text(table: dict, key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CampaignError(f"{where}.{key} is missing or empty")
    return value.strip()


class LetterCampaign(Petition):
    """A letter each signer sends to their own representatives (the public list stays the petition's,
    which lists no one: the letter form has no `public` box)."""

    name = "letter"
    form = LetterForm
    answers_model = WrittenLetter
    answer_columns = ("subject", "message", "targets")
    page_template = "letter/index.html"
    thanks_template = "letter/thanks.html"
    wording = LetterWording()
    dashboard_template = "letter/_dashboard.html"
    export_columns = ("subject", "message", "targets", "letters_sent")
    top_level_keys = frozenset({"targets_file", "represent_levels"})
    language_keys = frozenset({"letter"})
    blueprint = bp

    def parse_settings(self, data: dict, campaign_dir: Path) -> LetterSettings:
        name = data.get("targets_file")
        if not isinstance(name, str) or not name.strip():
            raise CampaignError(
                "targets_file is missing: the CSV of representatives, beside the campaign file"
            )
        levels = data.get("represent_levels", [])
        if not isinstance(levels, list) or not all(
            isinstance(level, str) and LEVEL.fullmatch(level) for level in levels
        ):
            raise CampaignError('represent_levels must be a list of offices, like ["Mayor", "Councillor"]')
        try:
            targets = load_targets(campaign_dir / name.strip())
        except CampaignError as error:
            raise CampaignError(f"targets_file: {error}") from None
        return LetterSettings(targets=targets, represent_levels=tuple(levels))

    def parse_letter(self, table: dict, language: str) -> LetterText:
        where = f"{language}.letter"
        letter = table.get("letter")
        if not isinstance(letter, dict):
            raise CampaignError(f"[{where}] is missing: the letter's subject and message")
        for key in letter:
            if key not in LETTER_KEYS:
                raise CampaignError(f"{where}.{key} is not a key of the letter (it has subject and message)")
        subject, message = _text(letter, "subject", where), _text(letter, "message", where)
        if SUBJECT_UNSAFE.search(subject) or len(subject) > SUBJECT_MAX:
            raise CampaignError(f"{where}.subject must fit on one line of at most {SUBJECT_MAX} characters")
        if MESSAGE_UNSAFE.search(message.replace("\r\n", "\n")) or len(message) > MESSAGE_MAX:
            raise CampaignError(f"{where}.message must be plain text of at most {MESSAGE_MAX} characters")
        return LetterText(subject=subject, message=message.replace("\r\n", "\n"))

    def on_sign(self, signature_id: int, data) -> None:
        """Keep who each letter goes to as they were found now: the confirmation email names them."""
        record_letters(signature_id, letter_rows(data.letters))

    def submission_letters(self, data) -> list[dict]:
        return letter_rows(data.letters)

    def demo_rows(self, rows: list[dict], chooser, now) -> None:
        """The letter form has no `public` box: no fictional writer is in the public list."""
        for row in rows:
            row["public"] = False

    def seed_demo(self) -> None:
        """Each fictional writer wrote the campaign's letter to everyone found for their postal
        code; a confirmed writer's letters count as sent (nothing is mailed)."""
        campaign = current_campaign()
        writers = db.session.execute(
            select(Signature.id, Signature.postal_code, Signature.language, Signature.confirmed_at)
            .join(WrittenLetter, WrittenLetter.signature_id == Signature.id)
            .where(WrittenLetter.campaign_id == campaign.id, WrittenLetter.subject == "")
        ).all()
        for writer in writers:
            found = [
                target for target in campaign.settings.targets.matching(writer.postal_code) if target.email
            ]
            text = campaign.in_language(writer.language).letter
            db.session.execute(
                update(WrittenLetter)
                .where(WrittenLetter.signature_id == writer.id)
                .values(subject=text.subject, message=text.message, targets=" ".join(t.id for t in found))
            )
            record_letters(writer.id, letter_rows(found))
            if writer.confirmed_at is not None:
                sent_at = writer.confirmed_at + timedelta(minutes=1)
                queue_letters(writer.id, sent_at=sent_at)
                count_as_sent(writer.id, letter_day(sent_at))

    def on_confirm(self, signature_id: int) -> None:
        """The writer is confirmed: each of their letters goes to the outbox, once, but for a
        representative this person has written to before (see first_letters_only)."""
        first_letters_only(signature_id)
        queue_letters(signature_id)

    def on_erase(self, signature_id: int) -> None:
        """A letter that never left (not handed to the mail server, or refused by it) does not
        count as written: erasing lets its writer write it again, still only once."""
        writer = _writer(signature_id)
        if writer is None:
            return
        never_sent = (
            select(LetterRow.target_id)
            .outerjoin(OutboxMessage, OutboxMessage.letter_id == LetterRow.id)
            .where(
                LetterRow.signature_id == signature_id,
                or_(
                    OutboxMessage.id.is_(None),
                    OutboxMessage.status == OutboxMessage.FAILED,
                    (OutboxMessage.status == OutboxMessage.QUEUED) & OutboxMessage.handed_at.is_(None),
                ),
            )
        )
        db.session.execute(
            delete(LetterWriter)
            .where(
                LetterWriter.campaign_id == current_campaign().id,
                LetterWriter.writer == writer,
                LetterWriter.target_id.in_(never_sent),
            )
            .execution_options(synchronize_session=False)
        )

    def count_parts(self) -> dict[str, int]:
        """Letters sent so far, whoever wrote them (an erased writer's letters stay counted)."""
        return {"letters": letters_sent()}

    def dashboard_figures(self) -> list[TargetFigures]:
        """Letters per representative, by what has become of them, most written to first.

        Sent comes from the day counts, which outlive their writers; the rest from the letters
        still held. Waiting includes those held back by the day's ceiling (`next_day`).
        """

        def status_is(*statuses):
            return func.count(OutboxMessage.id).filter(OutboxMessage.status.in_(statuses))

        held = db.session.execute(
            select(
                LetterRow.target_id,
                func.max(LetterRow.name),
                func.max(LetterRow.role),
                status_is(OutboxMessage.QUEUED, OutboxMessage.SENDING),
                func.count(OutboxMessage.id).filter(OutboxMessage.last_error == WAITS_FOR_NEXT_DAY),
                status_is(OutboxMessage.FAILED),
                func.count(LetterRow.id).filter(OutboxMessage.id.is_(None)),
            )
            .join(Signature, Signature.id == LetterRow.signature_id)
            .outerjoin(OutboxMessage, OutboxMessage.letter_id == LetterRow.id)
            .where(Signature.campaign_id == current_campaign().id)
            .group_by(LetterRow.target_id)
        ).all()
        sent = sent_by_representative()
        figures = {
            target_id: TargetFigures(target_id, name, role, sent.get(target_id, (0, 0, 0))[2], *counts)
            for target_id, name, role, *counts in held
        }
        for target_id, (name, role, count) in sent.items():
            figures.setdefault(target_id, TargetFigures(target_id, name, role, count, 0, 0, 0, 0))
        return sorted(figures.values(), key=lambda row: (-row.total, row.target_id))

    def export_cells(self) -> dict:
        sent = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.signature_id == Signature.id,
                OutboxMessage.letter_id.is_not(None),
                OutboxMessage.status == OutboxMessage.SENT,
            )
            .scalar_subquery()
        )
        return {"letters_sent": sent}

    def thanks_context(self, signature_id: int | None) -> dict:
        signature = db.session.get(Signature, signature_id) if signature_id else None
        if (
            signature is None
            or signature.campaign_id != current_campaign().id
            or not signature.confirmed
            or signature.anonymised_at is not None
        ):
            return {"written": None, "letters": [], "already_written": 0}
        letters = letters_of(signature.id)
        written = db.session.get(WrittenLetter, signature.id)
        # Chosen but not sent: this person had written to them before (first_letters_only).
        already = len(set(written.targets.split()) - {letter.target_id for letter in letters})
        return {"written": written, "writer": signature, "letters": letters, "already_written": already}

    def render_outbox_email(self, message: OutboxMessage, signature: Signature, message_id: str):
        letter = db.session.get(LetterRow, message.letter_id) if message.kind == LETTER else None
        if letter is None:
            return super().render_outbox_email(message, signature, message_id)
        return render_letter(letter, signature, message_id)


def _writer(signature_id: int) -> str | None:
    """The keyed hash LetterWriter keeps for this signature's address, or None if it is gone."""
    email = db.session.scalar(select(Signature.email).where(Signature.id == signature_id))
    return keyed_hash(f"letter-writer:{one_person(email)}", digest_size=32) if email else None


def first_letters_only(signature_id: int) -> None:
    """Drop the signature's letters to representatives its writer has written to already, within
    the caller's transaction, and remember the others: one letter per person, per
    representative, per campaign, however often they erase their signature and sign again, and
    whatever `+tag` they add to their address."""
    writer = _writer(signature_id)
    remember = insert_ignoring_duplicates(LetterWriter).returning(LetterWriter.target_id)
    for letter in letters_of(signature_id):
        remembered = {"campaign_id": current_campaign().id, "writer": writer, "target_id": letter.target_id}
        if db.session.scalar(remember, remembered) is None:
            db.session.execute(delete(LetterRow).where(LetterRow.id == letter.id))


KIND = LetterCampaign()
