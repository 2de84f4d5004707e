"""Kinds of campaign: what a petition, an open letter or a letter does its own way, one module each."""

import importlib
from functools import cache
from pathlib import Path

from ..models import Signature
from .wording import Wording

# The campaign file's top-level `kind` picks one; each is the module app/kinds/<name>.py (or the
# package app/kinds/<name>/), which exposes KIND. Loaded by name, so this package imports
# nothing the kinds use.
NAMES = ("petition", "open_letter", "letter")
DEFAULT = "petition"


class Kind:
    """What one kind of campaign decides; a kind overrides what differs, as a MethodView does.

    Everything shared (signing, confirming, counting, mail, the export's machinery) stays
    in its own module and asks the campaign's kind for these. The defaults do nothing.
    """

    name: str
    # The sign form, a forms.SignForm: each answer is a column of that name, of the new
    # signature, or of the kind's own table (answers_model) for the answers named there.
    form: type
    # The kind's own table of what its signers answer beyond what every signature holds: a model
    # with `signature_id` (its primary key), `campaign_id`, and a column for each of
    # answer_columns; one row per signature, written with it. None when the kind asks nothing more.
    answers_model: type | None = None
    answer_columns: tuple[str, ...] = ()
    # The campaign page and the public list of signers.
    page_template: str
    signers_template: str
    # The words shared pages and emails use where kinds differ (kinds/wording.py).
    wording: Wording = Wording()
    # The page after confirming; thanks_context(signature_id) fills in what it needs.
    thanks_template: str = "public/thanks.html"
    # Columns the CSV export adds after the contract's ones: one of answer_columns, or one of
    # export_cells()'s expressions.
    export_columns: tuple[str, ...] = ()
    # The campaign file: extra top-level keys, and extra keys inside [en] / [fr].
    top_level_keys: frozenset[str] = frozenset()
    language_keys: frozenset[str] = frozenset()
    # Routes only this kind has: registered by create_app only when the campaign is of this kind.
    blueprint = None
    # The organizer dashboard's extra section, given `kind_figures` = dashboard_figures().
    dashboard_template: str | None = None
    # Whether confirming a signature adds it to the count; False when the kind counts at
    # another moment (an open letter: when a signatory is listed) and says which in counted().
    counts_confirmed: bool = True
    # Whether the count is the sum of count_parts() (an open letter: organizations + individuals).
    # The count then comes from the parts' own query, so the two always agree; the shards, read
    # in another statement, could be one change apart from them on PostgreSQL.
    count_is_sum_of_parts: bool = False

    def check_server(self) -> None:
        """Log, once at start-up, what this server lacks for this kind; nothing by default."""

    def parse_settings(self, data: dict, campaign_dir: Path) -> object | None:
        """Kind-wide settings from the file's top level (Campaign.settings); raise CampaignError."""
        return None

    def parse_letter(self, table: dict, language: str) -> object | None:
        """The kind's part of one language's table (Content.letter); raise CampaignError."""
        return None

    def list_signers(self, cursor: str | None):
        """One page of the public list, as signatures.SignerPage with rows for signers_template;
        `cursor` comes from the page before (keyset.keyset_page), None for the first page.
        Raise keyset.BadCursor for a cursor the list did not make."""
        raise NotImplementedError

    def signers_page(self, args):
        """The whole /signers response when the kind lays it out its own way; None for the default."""
        return None

    def addressed_as(self, answers) -> str:
        """Whom the signer's emails greet, from their answers (an organization's signing person)."""
        return str(answers["name"])

    def page_context(self) -> dict:
        """Extra values for page_template (read once per cached render)."""
        return {}

    def listing_version(self) -> object:
        """A cheap value that changes whenever what the public pages list changes (page cache key)."""
        return None

    def counted(self, campaign_id: int):
        """The SQL condition of a signature that is in that campaign's count."""
        return Signature.confirmed & (Signature.campaign_id == campaign_id)

    def count_parts(self) -> dict[str, int]:
        """Extra figures for /api/count and the page, beside the count."""
        return {}

    def dashboard_figures(self) -> object | None:
        """What dashboard_template shows."""
        return None

    def awaiting_moderation(self) -> int | None:
        """How many signatures wait for an organizer (the overview's figure); None for a kind
        that has no moderation."""
        return None

    def export_cells(self) -> dict:
        """SQL expressions, by name, for the export_columns that are not columns of `signatures`;
        each gives the cell's text (the export quotes and guards it)."""
        return {}

    def thanks_context(self, signature_id: int | None) -> dict:
        """What thanks_template shows for the signature just confirmed in this browser (if known)."""
        return {}

    def render_outbox_email(self, message, signature, message_id: str):
        """An outbox message of this kind's own (not to the signer), as an emails.Email."""
        raise ValueError(f"no email of kind {message.kind!r} in this campaign")

    def demo_rows(self, rows: list[dict], chooser, now) -> None:
        """Shape `demo seed`'s fictional signatures (column -> value dicts) before they are stored."""

    def seed_demo(self) -> None:
        """Give the fictional signatures `demo seed` just added what this kind keeps beside them."""

    def on_sign(self, signature_id: int, data) -> None:
        """Called inside the sign transaction after the INSERT of a new signature; nothing by default."""

    def submission_letters(self, data) -> list[dict]:
        """What a sign form's letters are, to keep with a later submission of a pending address
        (submissions.LETTER_COLUMNS each); none for a kind that writes no letters."""
        return []

    def on_confirm(self, signature_id: int) -> None:
        """Called inside the confirm transaction once the signature is confirmed; nothing by default."""

    def on_erase(self, signature_id: int) -> None:
        """Called inside the erasure's transaction, just before the signature is deleted."""

    def background_work(self) -> int:
        """Work the kind does beside the mail, in a thread of each deliverer's process, called
        every few seconds with the app; how much it did. Nothing by default."""
        return 0

    def stop_background_work(self) -> None:
        """Stop background_work at once: its process is stopping."""


@cache
def kind_named(name: str) -> Kind:
    """The kind of this name (one of NAMES), also before any campaign exists (the file's parser)."""
    return importlib.import_module(f"{__name__}.{name}").KIND


def kind_for(campaign) -> Kind:
    """The kind the campaign file chose (campaign.py has checked that it is one of NAMES)."""
    return kind_named(campaign.kind)
