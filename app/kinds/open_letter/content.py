"""An open letter's part of the campaign file: the letter's date and moderation, and in each
language its addressee block, salutation, closing and cc list."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ...campaign import CampaignError
from ...clock import today

TOP_LEVEL_KEYS = frozenset({"moderation", "letter_date"})
LANGUAGE_KEYS = frozenset({"addressee", "salutation", "closing", "cc"})
LINE_MAX = 200


@dataclass(frozen=True)
class Settings:
    """Kind-wide settings: whether an organizer approves each signatory, and the letter's date."""

    moderation: bool = True
    letter_date: dt.date | None = None  # None: the letter is dated the day it is read

    def date(self) -> dt.date:
        """The date printed on the letter."""
        return self.letter_date or today()


@dataclass(frozen=True)
class Letter:
    """What frames the letter's body (Content.text) in one language."""

    addressee: tuple[str, ...]  # name, title, then the postal address, one line each
    salutation: str
    closing: str
    cc: tuple[str, ...] = ()


def _line(value, name: str) -> str:
    if not isinstance(value, str):
        raise CampaignError(f"{name} must be text, not {type(value).__name__}")
    value = value.strip()
    if not value:
        raise CampaignError(f"{name} is empty")
    if "\n" in value or "\r" in value:
        raise CampaignError(f"{name} must fit on one line")
    if len(value) > LINE_MAX:
        raise CampaignError(f"{name} has {len(value)} characters; at most {LINE_MAX} are allowed")
    return value


def _lines(table: dict, key: str, language: str, required: bool) -> tuple[str, ...]:
    name = f"{language}.{key}"
    if key not in table:
        if required:
            raise CampaignError(f"{name} is missing: an open letter needs it")
        return ()
    value = table[key]
    if not isinstance(value, list):
        raise CampaignError(f'{name} must be a list of lines like ["...", "..."], not {type(value).__name__}')
    if required and not value:
        raise CampaignError(f"{name} is empty")
    return tuple(_line(line, f"{name}[{number}]") for number, line in enumerate(value, start=1))


def _text(table: dict, key: str, language: str) -> str:
    if key not in table:
        raise CampaignError(f"{language}.{key} is missing: an open letter needs it")
    return _line(table[key], f"{language}.{key}")


def parse_letter(table: dict, language: str) -> Letter:
    """The letter's frame in one language; raise CampaignError naming the field."""
    addressee = _lines(table, "addressee", language, required=True)
    if len(addressee) < 2:
        raise CampaignError(f"{language}.addressee needs at least the name and the title or an address line")
    return Letter(
        addressee=addressee,
        salutation=_text(table, "salutation", language),
        closing=_text(table, "closing", language),
        cc=_lines(table, "cc", language, required=False),
    )


def parse_settings(data: dict, campaign_dir: Path) -> Settings:
    """Moderation (on unless the file says `moderation = false`) and the letter's date."""
    if data.get("show_reasons"):
        raise CampaignError(
            "show_reasons is for petitions: an open letter's comments stay with the organizers"
        )
    moderation = data.get("moderation", True)
    if not isinstance(moderation, bool):
        raise CampaignError(f"moderation must be true or false, not {type(moderation).__name__}")
    letter_date = data.get("letter_date")
    if letter_date is not None and (
        not isinstance(letter_date, dt.date) or isinstance(letter_date, dt.datetime)
    ):
        raise CampaignError("letter_date must be a date like 2027-03-15 (no quotes, no time)")
    return Settings(moderation=moderation, letter_date=letter_date)
