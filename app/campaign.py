"""The campaign file: load it, validate every field, and render its text safely."""

import datetime as dt
import difflib
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g
from markupsafe import Markup

from . import kinds
from .clock import utcnow
from .markdown import References, cited_sources, plain_text, render_markdown

LANGUAGES = ("en", "fr")
# A section named like a language tag (de, es, fr-CA, en_US) that the site has no catalogue for.
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,4})?")
WEB_URL = ("https://", "http://")
# "+1 613 555 0100 ext. 123", "poste 123", "x123": the extension organizers write after the number.
# Digits are ASCII's: \d would take Arabic-Indic or full-width digits into a tel: link.
PHONE_EXTENSION = re.compile(r"[\s,;]*(?:ext\.?|extension|poste|x)\s*([0-9]+)\s*$", re.IGNORECASE)
PHONE_NUMBER = re.compile(r"\+?[0-9\s().-]+")
DEFAULT_TIMEZONE = "America/Toronto"
# Confirmation links mailed before the deadline keep working this long after it, so that
# someone who signed at 23:59 is counted (each link's own CONFIRM_MAX_AGE still applies).
CONFIRMATION_GRACE = dt.timedelta(days=7)


class CampaignError(ValueError):
    """The campaign file is missing a field or has a bad value; the message names it."""


@dataclass(frozen=True)
class Source:
    """One numbered source: what it is, where to read it, and the ids of the citations to it."""

    number: int
    text: str
    url: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Link:
    """A link the organizers wrote: its words and its address."""

    text: str
    url: str


@dataclass(frozen=True)
class Content:
    """The campaign's words in one language, Markdown already rendered (once, at start-up)."""

    organization: str
    title: str
    summary: Markup
    summary_plain: str  # for meta tags and emails
    target: str
    text: Markup
    text_plain: str
    sources: tuple[Source, ...]
    share_text: str
    hosted_by: str = ""
    privacy: Markup | None = None  # None: the interface's own wording
    donate: Link | None = None
    related: tuple[Link, ...] = ()
    # The kind's own part (an open letter's addressee, a letter's subject); None for a petition.
    letter: object | None = None


@dataclass(frozen=True)
class Campaign:
    """Everything a campaign file says, and, once stored (campaigns.py), where the campaign is."""

    goal: int
    deadline: dt.date | None
    postal_address: str
    privacy_url: str
    organization_email: str
    press_name: str
    press_email: str
    press_phone: str  # as the organizers wrote it
    press_phone_uri: str  # the tel: link for it
    content: dict[str, Content]
    kind: str = kinds.DEFAULT  # one of kinds.NAMES: petition, open letter or letter
    timezone: str = DEFAULT_TIMEZONE  # the zone whose end of the deadline day closes signing
    show_reasons: bool = False  # public signers' comments, once approved, under "Why people sign"
    retention_days: int | None = None  # days after the deadline when signers' personal data goes
    settings: object | None = None  # the kind's own settings (kinds.Kind.parse_settings); None for a petition
    # Set by campaigns.Registry for a stored campaign: its row, address, state and revision.
    id: int = 0
    slug: str = ""
    state: str = "published"
    revision_id: int | None = None
    closed_at: dt.datetime | None = None  # an organizer closed it before its deadline

    def anonymise_at(self) -> dt.datetime | None:
        """When signers' personal data is erased (the counts stay); None if the file sets no retention."""
        closes_at = self.closes_at()
        if closes_at is None or self.retention_days is None:
            return None
        return closes_at + dt.timedelta(days=self.retention_days)

    def closes_at(self) -> dt.datetime | None:
        """When signing closes: the end of the deadline day in the campaign's time zone; None if never."""
        return self._closes_at

    @cached_property
    def _closes_at(self) -> dt.datetime | None:
        # Asked on every page view; a revision never changes, so it is worked out once.
        if self.deadline is None:
            return self.closed_at
        next_day = dt.datetime.combine(
            self.deadline + dt.timedelta(days=1), dt.time(), ZoneInfo(self.timezone)
        ).astimezone(dt.UTC)
        return min(next_day, self.closed_at) if self.closed_at else next_day

    def is_open(self, now: dt.datetime | None = None) -> bool:
        """Whether new signatures are taken now: until the deadline, or always without one."""
        closes_at = self.closes_at()
        return closes_at is None or (now or utcnow()) < closes_at

    def takes_confirmations(self, now: dt.datetime | None = None) -> bool:
        """Whether a pending signature may still be confirmed: until CONFIRMATION_GRACE after closing."""
        closes_at = self.closes_at()
        return closes_at is None or (now or utcnow()) < closes_at + CONFIRMATION_GRACE

    @property
    def languages(self) -> tuple[str, ...]:
        """The campaign's languages in the file's order; the first is the default."""
        return tuple(self.content)

    def in_language(self, language: str) -> Content:
        """The content in the given language, the campaign's first when it is not one it has."""
        return self.content.get(language) or self.content[self.languages[0]]


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


def _web_url(value: str, name: str) -> str:
    if not value.startswith(WEB_URL):
        raise CampaignError(f"{name} must start with https:// or http://")
    return value


def _link(entry, name: str) -> Link:
    if not isinstance(entry, dict):
        raise CampaignError(f'{name} must be a table like {{text = "...", url = "https://..."}}')
    text = _limit(_require(entry, "text", name), f"{name}.text", 200)
    return Link(text=text, url=_web_url(_require(entry, "url", name), f"{name}.url"))


def _raw_sources(table: dict, language: str) -> tuple[str, list]:
    """The sources as written, under `sources` or the older `footnotes` key, and that key."""
    if "sources" in table and "footnotes" in table:
        raise CampaignError(f"{language} has both sources and footnotes; keep one")
    key = "footnotes" if "footnotes" in table else "sources"
    return key, _require(table, key, language, list, optional=True) or []


def _sources(table: dict, language: str, references: References) -> tuple[Source, ...]:
    key, raw = _raw_sources(table, language)
    sources = []
    for number, entry in enumerate(raw, start=1):
        name = f"{language}.{key}[{number}]"
        if isinstance(entry, str):
            text, url = entry.strip(), ""
        elif isinstance(entry, dict):
            text = _require(entry, "text", name)
            url = _require(entry, "url", name, optional=True) or ""
            url = url and _web_url(url, f"{name}.url")
        else:
            raise CampaignError(f'{name} must be text or a table like {{text = "...", url = "https://..."}}')
        if not text:
            raise CampaignError(f"{name} is empty")
        citations = tuple(references.ids.get(number, ()))
        if not citations:
            raise CampaignError(
                f"{name} is never cited: no [^{number}] in {language}.summary or {language}.text"
            )
        sources.append(Source(number=number, text=text, url=url, citations=citations))
    return tuple(sources)


def _check_markers(text: str, name: str, sources_key: str, count: int) -> None:
    """Every marker in a field cites a source the language has; ranges go upwards."""
    for first, last in cited_sources(text):
        if first > last:
            raise CampaignError(f"{name} cites the range [^{first}-{last}]; write it as [^{last}-{first}]")
        if first < 1 or last > count:
            missing = first if first < 1 else last
            raise CampaignError(
                f"{name} refers to source [^{missing}], which {sources_key} lacks ({count} listed)"
            )


def _content(data: dict, language: str, kind: kinds.Kind) -> Content:
    table = _require(data, language, "", dict)
    summary = _limit(_require(table, "summary", language), f"{language}.summary", 600)
    text = _require(table, "text", language)
    key, raw_sources = _raw_sources(table, language)
    for field, value in (("summary", summary), ("text", text)):
        _check_markers(value, f"{language}.{field}", f"{language}.{key}", len(raw_sources))
    references = References()  # one numbering for the summary and the text, as the page shows them
    rendered_summary = render_markdown(summary, references=references)
    rendered_text = render_markdown(text, references=references)
    privacy = _require(table, "privacy", language, optional=True)
    donate_url = _require(table, "donate_url", language, optional=True)
    donate_text = _require(table, "donate_text", language, optional=donate_url is None)
    if donate_text and not donate_url:
        raise CampaignError(f"{language}.donate_text needs {language}.donate_url")
    related = _require(table, "related", language, list, optional=True) or []
    return Content(
        organization=_limit(_require(table, "organization", language), f"{language}.organization", 120),
        title=_limit(_require(table, "title", language), f"{language}.title", 120),
        summary=rendered_summary,
        summary_plain=plain_text(summary),
        target=_require(table, "target", language),
        text=rendered_text,
        text_plain=plain_text(text),
        sources=_sources(table, language, references),
        share_text=_limit(_require(table, "share_text", language), f"{language}.share_text", 200),
        hosted_by=_limit(
            _require(table, "hosted_by", language, optional=True) or "", f"{language}.hosted_by", 200
        ),
        # Under the form's "Your privacy" (h3), so the text's own headings start at h4.
        privacy=render_markdown(privacy, heading_level=4) if privacy else None,
        donate=Link(
            text=_limit(donate_text, f"{language}.donate_text", 200),
            url=_web_url(donate_url, f"{language}.donate_url"),
        )
        if donate_url
        else None,
        related=tuple(_link(entry, f"{language}.related[{n}]") for n, entry in enumerate(related, start=1)),
        letter=kind.parse_letter(table, language),
    )


def _languages(data: dict) -> list[str]:
    """The language sections present, in file order: at least one, none the site cannot show."""
    for key, value in data.items():
        if isinstance(value, dict) and key not in LANGUAGES and LANGUAGE_TAG.fullmatch(key):
            raise CampaignError(f"[{key}] is not a language this site has; use [en], [fr] or both")
    present = [key for key in data if key in LANGUAGES]
    if not present:
        raise CampaignError("the campaign needs at least one language: [en] or [fr]")
    return present


def tel_uri(phone: str, name: str = "press.phone") -> str:
    """The RFC 3966 tel: link for a number as people write it: "+1 613 555 0100 ext. 123"."""
    extension = PHONE_EXTENSION.search(phone)
    number = phone[: extension.start()] if extension else phone
    digits = re.sub(r"[^0-9]", "", number)
    if not PHONE_NUMBER.fullmatch(number.strip()):
        raise CampaignError(f'{name} must be a phone number like "+1 613 555 0100 ext. 123"')
    if number.strip().startswith("+"):
        international = "+" + digits
    elif (len(digits) == 10 or (len(digits) == 11 and digits.startswith("1"))) and digits[-10] in "23456789":
        # Without a country code, a ten-digit number is North American (+1).
        international = "+1" + digits[-10:]
    else:
        raise CampaignError(f'{name} needs its country code, like "+1 613 555 0100"')
    if not 8 <= len(international) <= 16:
        raise CampaignError(f'{name} must be a phone number like "+1 613 555 0100 ext. 123"')
    return f"tel:{international}" + (f";ext={extension.group(1)}" if extension else "")


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


# The keys each table of the file may hold: anything else is a typo or a key in the wrong
# table (TOML puts every key written after a [section] line into that section).
TOP_LEVEL_KEYS = {
    "kind",
    "goal",
    "deadline",
    "timezone",
    "show_reasons",
    "retention_days",
    "organization",
    "press",
    *LANGUAGES,
}
TABLE_KEYS = {
    "organization": {"postal_address", "privacy_url", "email"},
    "press": {"name", "email", "phone"},
    **{
        language: {
            "organization",
            "title",
            "summary",
            "target",
            "text",
            "sources",
            "footnotes",
            "share_text",
            "hosted_by",
            "privacy",
            "donate_url",
            "donate_text",
            "related",
        }
        for language in LANGUAGES
    },
}


def _check_keys(data: dict, kind: kinds.Kind) -> None:
    """Refuse a key the format does not have, saying where it belongs or what was meant."""
    tables = [("", data, TOP_LEVEL_KEYS | kind.top_level_keys)]
    tables += [
        (name, data[name], known | (kind.language_keys if name in LANGUAGES else set()))
        for name, known in TABLE_KEYS.items()
        if isinstance(data.get(name), dict)
    ]
    for name, table, known in tables:
        for key in table:
            if key in known:
                continue
            where = f"{name}.{key}" if name else key
            if name and key in TOP_LEVEL_KEYS:
                raise CampaignError(
                    f"{where} is not a key of [{name}]: write {key} above the first [section]"
                )
            close = difflib.get_close_matches(key, known, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise CampaignError(f"{where} is not a key the campaign file has{hint}")


def parse_campaign(data: dict, campaign_dir: Path = Path()) -> Campaign:
    """Validate a parsed campaign file; raise CampaignError naming the first bad field.

    Files the campaign names (a letter's targets) are found relative to `campaign_dir`.
    """
    goal = _require(data, "goal", "", int)
    if goal <= 0:
        raise CampaignError("goal must be greater than zero")
    deadline = _require(data, "deadline", "", dt.date, optional=True)
    if isinstance(deadline, dt.datetime):
        raise CampaignError("deadline must be a date like 2027-06-30: signing closes at the end of that day")
    organization = _require(data, "organization", "", dict)
    privacy_url = _web_url(_require(organization, "privacy_url", "organization"), "organization.privacy_url")
    press = _require(data, "press", "", dict)
    press_phone = _require(press, "phone", "press", optional=True) or ""
    kind = _require(data, "kind", "", optional=True) or kinds.DEFAULT
    if kind not in kinds.NAMES:
        quoted = [f'"{name}"' for name in kinds.NAMES]
        allowed = ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise CampaignError(f'kind must be {allowed}, not "{kind}"')
    kind_rules = kinds.kind_named(kind)
    timezone = _require(data, "timezone", "", optional=True) or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(f'timezone "{timezone}" is not a time zone name like "America/Toronto"') from None
    campaign = Campaign(
        goal=goal,
        deadline=deadline,
        postal_address=_require(organization, "postal_address", "organization"),
        privacy_url=privacy_url,
        organization_email=_require(organization, "email", "organization", optional=True) or "",
        press_name=_require(press, "name", "press"),
        press_email=_require(press, "email", "press"),
        press_phone=press_phone,
        press_phone_uri=tel_uri(press_phone) if press_phone else "",
        content={language: _content(data, language, kind_rules) for language in _languages(data)},
        kind=kind,
        timezone=timezone,
        show_reasons=bool(_require(data, "show_reasons", "", bool, optional=True)),
        retention_days=_retention_days(data, deadline),
        settings=kind_rules.parse_settings(data, campaign_dir),
    )
    _check_keys(data, kind_rules)
    try:
        campaign.anonymise_at()  # computes closes_at() too
    except OverflowError:
        raise CampaignError("deadline and retention_days must fall before the year 9999") from None
    return campaign


class StoredFile:
    """A file a stored campaign names (a letter's targets), read as campaign.py reads a file."""

    def __init__(self, name: str, text: str | None):
        self.name = name
        self.text = text

    def read_bytes(self) -> bytes:
        if self.text is None:
            raise FileNotFoundError(self.name)
        return self.text.encode("utf-8")

    def __str__(self) -> str:
        return self.name


class StoredFiles:
    """The files of one revision, by name: `files / "targets.csv"` as for a folder."""

    def __init__(self, files: dict[str, str]):
        self.files = files

    def __truediv__(self, name: str) -> StoredFile:
        return StoredFile(name, self.files.get(name))


class RecordedFile(StoredFile):
    def __init__(self, path: Path, name: str, record: dict[str, str]):
        super().__init__(str(path), None)
        self.path, self.key, self.record = path, name, record

    def read_bytes(self) -> bytes:
        data = self.path.read_bytes()
        self.record[self.key] = data.decode("utf-8", errors="replace")
        return data


class RecordingFolder:
    """A campaign file's folder that remembers each file the campaign reads from it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: dict[str, str] = {}

    def __truediv__(self, name: str) -> RecordedFile:
        return RecordedFile(self.folder / name, name, self.files)


def parse_document(document: str, files) -> Campaign:
    """A campaign from a campaign file's text; `files` gives the files it names."""
    try:
        data = tomllib.loads(document)
    except tomllib.TOMLDecodeError as error:
        raise CampaignError(f"not valid TOML ({error})") from None
    return parse_campaign(data, files)


def read_campaign_file(path: str | Path) -> tuple[Campaign, str, dict[str, str]]:
    """Read and check a campaign file: the campaign, the file's text and the files it names."""
    path = Path(path)
    try:
        document = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignError(f"{path}: no such campaign file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CampaignError(f"{path}: {error}") from None
    folder = RecordingFolder(path.parent)
    try:
        campaign = parse_document(document, folder)
    except CampaignError as error:
        raise CampaignError(f"{path}: {error}") from None
    return campaign, document, folder.files


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file; errors name the file and the field."""
    return read_campaign_file(path)[0]


def current_campaign() -> Campaign:
    """The campaign in scope: the one the request's address names (routing.py), or the one a
    background job is working on (campaigns.campaign_scope). Outside both (`flask shell`, a
    test), a deployment of one campaign has that one in scope; one of several has none, and
    code that would act on a campaign without naming it fails instead of guessing."""
    campaign = g.get("campaign")
    if campaign is None:
        campaigns = current_app.extensions["campaigns"]  # campaigns.registry(), which imports this module
        campaigns.refresh()
        every = campaigns.campaigns()
        if len(every) != 1:
            raise LookupError("no campaign in scope: this code runs for one campaign, and there are several")
        campaign = every[0]
    return campaign
