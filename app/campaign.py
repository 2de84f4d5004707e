"""The campaign file: load it, validate every field, and render its text safely."""

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from markupsafe import Markup, escape

from . import kinds

LANGUAGES = ("en", "fr")
FOOTNOTE_MARK = re.compile(r"\[\^(\d+)\]")
DEFAULT_TIMEZONE = "America/Toronto"
# Confirmation links mailed before the deadline keep working this long after it, so that
# someone who signed at 23:59 is counted (each link's own CONFIRM_MAX_AGE still applies).
CONFIRMATION_GRACE = dt.timedelta(days=7)


class CampaignError(ValueError):
    """The campaign file is missing a field or has a bad value; the message names it."""


@dataclass(frozen=True)
class Content:
    """The campaign's words in one language."""

    organization: str
    title: str
    summary: str
    target: str
    text: str
    footnotes: tuple[str, ...]
    share_text: str

    def paragraphs(self) -> list[Markup]:
        """The text as escaped paragraphs, footnote markers turned into links."""

        def link(match: re.Match) -> str:
            number = match.group(1)
            return f'<sup><a href="#fn{number}" id="ref{number}" class="fnref">{number}</a></sup>'

        return [
            Markup(FOOTNOTE_MARK.sub(link, str(escape(block.strip()))))
            for block in re.split(r"\n\s*\n", self.text)
            if block.strip()
        ]


@dataclass(frozen=True)
class Campaign:
    """Everything a deployment says about its one campaign."""

    goal: int
    deadline: dt.date | None
    postal_address: str
    privacy_url: str
    organization_email: str
    press_name: str
    press_email: str
    press_phone: str
    content: dict[str, Content]
    kind: str = kinds.DEFAULT  # one of kinds.NAMES: petition, open letter or letter
    timezone: str = DEFAULT_TIMEZONE  # the zone whose end of the deadline day closes signing
    show_reasons: bool = False  # public signers' comments, once approved, under "Why people sign"
    retention_days: int | None = None  # days after the deadline when signers' personal data goes

    def anonymise_at(self) -> dt.datetime | None:
        """When signers' personal data is erased (the counts stay); None if the file sets no retention."""
        closes_at = self.closes_at()
        if closes_at is None or self.retention_days is None:
            return None
        return closes_at + dt.timedelta(days=self.retention_days)

    def closes_at(self) -> dt.datetime | None:
        """When signing closes: the end of the deadline day in the campaign's time zone; None if never."""
        if self.deadline is None:
            return None
        next_day = dt.datetime.combine(
            self.deadline + dt.timedelta(days=1), dt.time(), ZoneInfo(self.timezone)
        )
        return next_day.astimezone(dt.UTC)

    def is_open(self, now: dt.datetime | None = None) -> bool:
        """Whether new signatures are taken now: until the deadline, or always without one."""
        closes_at = self.closes_at()
        return closes_at is None or (now or dt.datetime.now(dt.UTC)) < closes_at

    def takes_confirmations(self, now: dt.datetime | None = None) -> bool:
        """Whether a pending signature may still be confirmed: until CONFIRMATION_GRACE after closing."""
        closes_at = self.closes_at()
        return closes_at is None or (now or dt.datetime.now(dt.UTC)) < closes_at + CONFIRMATION_GRACE

    def in_language(self, language: str) -> Content:
        """The content in the given language, English when it is not one we have."""
        return self.content.get(language, self.content["en"])


def _require(table: dict, key: str, where: str, kind: type = str, optional: bool = False):
    name = f"{where}.{key}" if where else key
    if key not in table:
        if optional:
            return None
        raise CampaignError(f"{name} is missing")
    value = table[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise CampaignError(f"{name} must be a {kind.__name__}, not {type(value).__name__}")
    if isinstance(value, str) and not value.strip():
        raise CampaignError(f"{name} is empty")
    return value.strip() if isinstance(value, str) else value


def _limit(value: str, name: str, most: int) -> str:
    """One line of at most `most` characters (it goes into email subjects and meta tags)."""
    if "\n" in value or "\r" in value:
        raise CampaignError(f"{name} must fit on one line")
    if len(value) > most:
        raise CampaignError(f"{name} has {len(value)} characters; at most {most} are allowed")
    return value


def _content(data: dict, language: str) -> Content:
    table = _require(data, language, "", dict)
    footnotes = _require(table, "footnotes", language, list, optional=True) or []
    for index, note in enumerate(footnotes, start=1):
        if not isinstance(note, str) or not note.strip():
            raise CampaignError(f"{language}.footnotes[{index}] must be non-empty text")
    text = _require(table, "text", language)
    for number in FOOTNOTE_MARK.findall(text):
        if not 1 <= int(number) <= len(footnotes):
            raise CampaignError(
                f"{language}.text refers to footnote [^{number}], which {language}.footnotes lacks"
            )
    return Content(
        organization=_limit(_require(table, "organization", language), f"{language}.organization", 120),
        title=_limit(_require(table, "title", language), f"{language}.title", 120),
        summary=_limit(_require(table, "summary", language), f"{language}.summary", 600),
        target=_require(table, "target", language),
        text=text,
        footnotes=tuple(note.strip() for note in footnotes),
        share_text=_limit(_require(table, "share_text", language), f"{language}.share_text", 200),
    )


def _retention_days(data: dict, deadline: dt.date | None) -> int | None:
    days = _require(data, "retention_days", "", int, optional=True)
    if days is None:
        return None
    if deadline is None:
        raise CampaignError("retention_days counts from the deadline, which is missing")
    # Not before the late confirmations are over: someone who signed at 23:59 must be counted.
    if days < CONFIRMATION_GRACE.days:
        raise CampaignError(f"retention_days must be at least {CONFIRMATION_GRACE.days}")
    return days


def parse_campaign(data: dict) -> Campaign:
    """Validate a parsed campaign file; raise CampaignError naming the first bad field."""
    goal = _require(data, "goal", "", int)
    if goal <= 0:
        raise CampaignError("goal must be greater than zero")
    deadline = _require(data, "deadline", "", dt.date, optional=True)
    organization = _require(data, "organization", "", dict)
    privacy_url = _require(organization, "privacy_url", "organization")
    if not privacy_url.startswith(("https://", "http://")):
        raise CampaignError("organization.privacy_url must start with https:// or http://")
    press = _require(data, "press", "", dict)
    kind = _require(data, "kind", "", optional=True) or kinds.DEFAULT
    if kind not in kinds.NAMES:
        allowed = " or ".join(f'"{name}"' for name in kinds.NAMES)
        raise CampaignError(f'kind must be {allowed}, not "{kind}"')
    timezone = _require(data, "timezone", "", optional=True) or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(f'timezone "{timezone}" is not a time zone name like "America/Toronto"') from None
    return Campaign(
        goal=goal,
        deadline=deadline,
        postal_address=_require(organization, "postal_address", "organization"),
        privacy_url=privacy_url,
        organization_email=_require(organization, "email", "organization", optional=True) or "",
        press_name=_require(press, "name", "press"),
        press_email=_require(press, "email", "press"),
        press_phone=_require(press, "phone", "press", optional=True) or "",
        content={language: _content(data, language) for language in LANGUAGES},
        kind=kind,
        timezone=timezone,
        show_reasons=bool(_require(data, "show_reasons", "", bool, optional=True)),
        retention_days=_retention_days(data, deadline),
    )


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file; errors name the file and the field."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        return parse_campaign(data)
    except FileNotFoundError:
        raise CampaignError(f"{path}: no such campaign file") from None
    except tomllib.TOMLDecodeError as error:
        raise CampaignError(f"{path}: not valid TOML ({error})") from None
    except CampaignError as error:
        raise CampaignError(f"{path}: {error}") from None


def current_campaign() -> Campaign:
    """The campaign loaded at start-up."""
    return current_app.extensions["campaign"]
