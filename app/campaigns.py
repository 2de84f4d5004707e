"""The deployment's campaigns: stored in the database, imported from and exported to campaign
files, and known to each process through its Registry.

A campaign is a row of `campaigns` (slug, kind, state) and its revisions, each a whole
campaign file as written, with the files it names (a letter's targets). Each process keeps
the campaigns parsed, by revision, and looks every REFRESH_SECONDS for a change made by
another process (an import, a state change), so no request parses a campaign file.

`current_campaign()` (campaign.py) is the campaign in scope: the one the URL names for a
request (routing.py), or the one of the row at hand for the deliverer, retention and the
command line (`campaign_scope`).
"""

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .campaign import Campaign, CampaignError, StoredFiles, parse_document, read_campaign_file
from .clock import utcnow
from .database import write_transaction
from .extensions import db
from .models import Campaign as CampaignRow
from .models import CampaignAlias, CampaignRevision, CountShard

log = logging.getLogger(__name__)

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 64
REFRESH_SECONDS = 2.0
# States whose campaign has a public page: open for signing (until its deadline), or closed.
VISIBLE = (CampaignRow.PUBLISHED, CampaignRow.CLOSED)
SERVED = (*VISIBLE, CampaignRow.ARCHIVED)  # archived: off the index, its page and links still work


def slug_from_path(path: str | Path) -> str:
    """The slug a campaign file gets when none is given: its name, made a slug (and told apart
    from the site's own addresses: `letter.toml` is at /letter-campaign/)."""
    stem = Path(path).stem.lower()
    slug = "-".join(part for part in re.split(r"[^a-z0-9]+", stem) if part)[: SLUG_MAX - 9] or "campaign"
    return f"{slug}-campaign" if slug in reserved_slugs() else slug


def check_slug(slug: str, reserved: frozenset[str] = frozenset()) -> str:
    """A slug as the addresses take it: lowercase ASCII letters, digits and single hyphens."""
    if not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX:
        raise CampaignError(
            f'slug "{slug}" must be lowercase letters a-z, digits and hyphens, like "save-the-library" '
            f"(at most {SLUG_MAX} characters)"
        )
    if slug in reserved:
        raise CampaignError(f'slug "{slug}" is taken by one of the site\'s own addresses; choose another')
    return slug


# --- storing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    """What an import did: the campaign's slug, whether it is new, its revision number."""

    slug: str
    created: bool
    revision: int
    changed: bool


def import_file(
    path: str | Path,
    slug: str | None = None,
    draft: bool = False,
    actor: str = "",
    managed: bool = False,
) -> Imported:
    """Create or update the campaign of a campaign file, after campaign.py's checks.

    An existing campaign of that slug gets a new revision when the file (or a file it
    names) changed, and keeps its state and kind. A new one is published unless `draft`.
    An upgraded database's campaign, which has rows but no revision yet, is adopted by
    the first import of its kind. `managed`: CAMPAIGN_FILE's import at start-up.
    """
    campaign, document, files = read_campaign_file(path)
    slug = check_slug(slug or slug_from_path(path), reserved_slugs())
    for attempt in range(2):  # two processes importing one new campaign at once: one wins
        try:
            with write_transaction():
                return _store(campaign, slug, document, files, draft, actor, str(path) if managed else None)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _store(campaign, slug, document, files, draft, actor, managed_by) -> Imported:
    now = utcnow()
    row = db.session.scalar(select(CampaignRow).where(CampaignRow.slug == slug).with_for_update())
    if row is None and db.session.get(CampaignAlias, slug) is not None:
        raise CampaignError(f'slug "{slug}" was a campaign\'s earlier address; choose another')
    created = row is None
    if row is None:
        row = db.session.scalar(
            select(CampaignRow)
            .where(CampaignRow.revision_id.is_(None), CampaignRow.kind == campaign.kind)
            .order_by(CampaignRow.id)
            .limit(1)
            .with_for_update()
        )
        if row is not None:  # the upgraded campaign: its rows are kept, its address is chosen now
            row.slug, created = slug, False
    if row is None:
        row = CampaignRow(
            slug=slug,
            kind=campaign.kind,
            state=CampaignRow.DRAFT if draft else CampaignRow.PUBLISHED,
            created_at=now,
            changed_at=now,
        )
        db.session.add(row)
        db.session.flush()
        db.session.execute(
            insert(CountShard),
            [
                {"campaign_id": row.id, "shard": shard, "count": 0, "updated_at": now}
                for shard in range(CountShard.SHARDS)
            ],
        )
    elif row.kind != campaign.kind:
        raise CampaignError(
            f'the campaign "{slug}" is of kind "{row.kind}"; its kind cannot change to "{campaign.kind}"'
        )
    if managed_by is not None:
        row.managed_by_file = managed_by
    latest = db.session.get(CampaignRevision, row.revision_id) if row.revision_id else None
    if latest is not None and latest.document == document and latest.files == files:
        return Imported(slug, created, latest.number, changed=False)
    number = (latest.number if latest else 0) + 1
    revision = CampaignRevision(
        campaign_id=row.id, number=number, document=document, files=files, created_at=now, created_by=actor
    )
    db.session.add(revision)
    db.session.flush()
    row.revision_id, row.changed_at = revision.id, now
    return Imported(slug, created, number, changed=True)


def export_document(slug: str) -> tuple[str, dict[str, str]]:
    """A campaign's newest revision: the campaign file's text and the files it names."""
    row = db.session.scalar(select(CampaignRow).where(CampaignRow.slug == slug))
    if row is None or row.revision_id is None:
        raise CampaignError(f'no campaign "{slug}"')
    revision = db.session.get(CampaignRevision, row.revision_id)
    return revision.document, dict(revision.files)


def set_state(campaign_id: int, state: str) -> None:
    """Publish, close, reopen or archive a campaign (every process sees it within seconds)."""
    if state not in CampaignRow.STATES:
        raise ValueError(state)
    now = utcnow()
    values = {"state": state, "changed_at": now}
    if state == CampaignRow.CLOSED:
        values["closed_at"] = now
    elif state == CampaignRow.PUBLISHED:
        values["closed_at"] = None
    with write_transaction():
        db.session.execute(update(CampaignRow).where(CampaignRow.id == campaign_id).values(**values))


def rename(campaign_id: int, slug: str) -> None:
    """Give a campaign a new slug; its old one stays, redirecting to the new address."""
    slug = check_slug(slug, reserved_slugs())
    with write_transaction():
        row = db.session.get(CampaignRow, campaign_id)
        if db.session.get(CampaignAlias, slug) is not None:
            raise CampaignError(f'slug "{slug}" was a campaign\'s earlier address; choose another')
        db.session.add(CampaignAlias(slug=row.slug, campaign_id=row.id))
        row.slug, row.changed_at = slug, utcnow()


def reserved_slugs() -> frozenset[str]:
    """The first parts of the site's own addresses (admin, sign, api...): no slug may take one."""
    try:
        return current_app.extensions["reserved_slugs"]
    except (RuntimeError, KeyError):
        return frozenset()


# --- each process's view ----------------------------------------------------------------------


class Registry:
    """The campaigns as this process last read them, parsed once per revision."""

    def __init__(self, app: Flask, campaign_file: str | None):
        self.app = app
        # CAMPAIGN_FILE, checked at start-up: imported at first use, its slug known from then.
        self.campaign_file = campaign_file
        self.file_slug: str | None = None
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._stamp: tuple | None = None
        self._parsed: dict[int, Campaign] = {}  # by revision id
        self.by_id: dict[int, Campaign] = {}
        self.by_slug: dict[str, Campaign] = {}
        self.aliases: dict[str, str] = {}
        self.home: Campaign | None = None
        self.visible_count = 0

    def fresh(self) -> bool:
        return time.monotonic() - self._checked_at < REFRESH_SECONDS

    def refresh(self, force: bool = False) -> None:
        """Read the campaigns again if REFRESH_SECONDS have passed and any of them changed."""
        if not force and self.fresh():
            return
        with self._lock:
            if not force and self.fresh():
                return
            if self._stamp is None:
                self._import_file()
            stamp = db.session.execute(
                select(func.count(CampaignRow.id), func.max(CampaignRow.changed_at))
            ).one()
            if tuple(stamp) != self._stamp:
                self._load()
                self._stamp = tuple(stamp)
            self._checked_at = time.monotonic()

    def _import_file(self) -> None:
        if self.campaign_file:
            self.file_slug = import_file(self.campaign_file, actor="CAMPAIGN_FILE", managed=True).slug

    def _load(self) -> None:
        rows = db.session.execute(
            select(CampaignRow, CampaignRevision)
            .join(CampaignRevision, CampaignRevision.id == CampaignRow.revision_id)
            .order_by(CampaignRow.id)
        ).all()
        by_id = {}
        for row, revision in rows:
            parsed = self._parsed.get(revision.id)
            if parsed is None:
                try:
                    parsed = parse_document(revision.document, StoredFiles(revision.files))
                except CampaignError as error:  # stored before a check this version makes
                    log.error("campaign %s (revision %s) is not served: %s", row.slug, revision.number, error)
                    continue
                self._parsed[revision.id] = parsed
            by_id[row.id] = dataclasses.replace(
                parsed,
                id=row.id,
                slug=row.slug,
                state=row.state,
                revision_id=revision.id,
                closed_at=row.closed_at,
            )
        self.by_id = by_id
        self.by_slug = {campaign.slug: campaign for campaign in by_id.values()}
        self.aliases = {
            alias.slug: by_id[alias.campaign_id].slug
            for alias in db.session.scalars(select(CampaignAlias))
            if alias.campaign_id in by_id
        }
        visible = [campaign for campaign in by_id.values() if campaign.state in VISIBLE]
        self.visible_count = len(visible)
        home = self.by_slug.get(self.file_slug) if self.file_slug else None
        self.home = home or (visible[0] if visible else None)

    def served(self, slug: str) -> Campaign | None:
        """The campaign at /<slug>/ for the public: published, closed or archived (not a draft)."""
        campaign = self.by_slug.get(slug)
        return campaign if campaign is not None and campaign.state in SERVED else None

    def at_root(self, campaign: Campaign) -> bool:
        """Whether the campaign's links go to the root addresses (/sign, /confirm/...): it is the
        deployment's only visible campaign, as every campaign was before there were several."""
        return self.home is not None and campaign.id == self.home.id and self.visible_count <= 1

    def campaigns(self) -> list[Campaign]:
        return list(self.by_id.values())


def registry() -> Registry:
    """This app's Registry, up to date within REFRESH_SECONDS."""
    campaigns = current_app.extensions["campaigns"]
    campaigns.refresh()
    return campaigns


def campaign_by_id(campaign_id: int) -> Campaign:
    """A stored campaign by id (the deliverer and retention find it from the row at hand)."""
    campaigns = registry()
    campaign = campaigns.by_id.get(campaign_id)
    if campaign is None:
        campaigns.refresh(force=True)
        campaign = campaigns.by_id[campaign_id]
    return campaign


@contextmanager
def campaign_scope(campaign: Campaign, at_root: bool | None = None) -> Iterator[Campaign]:
    """Make `campaign` current_campaign() for the block (outside a request: the row's campaign).

    `at_root`: whether links built in the block go to the root addresses; by default, as
    the campaign's own emails link (Registry.at_root).
    """
    before = (g.get("campaign"), g.get("campaign_at_root"))
    g.campaign = campaign
    g.campaign_at_root = registry().at_root(campaign) if at_root is None else at_root
    try:
        yield campaign
    finally:
        g.campaign, g.campaign_at_root = before


def each_campaign() -> Iterator[Campaign]:
    """Every stored campaign, each in scope while the caller works on it."""
    for campaign in registry().campaigns():
        with campaign_scope(campaign):
            yield campaign
