"""The open letter: organizations and individuals sign a letter to a named addressee, and appear
on it once confirmed and approved. Its parts: content (the campaign file's letter), form,
listing (who is on it), moderation (who puts them there) and views (its own routes)."""

from pathlib import Path

from ... import letter_fonts
from ...campaign import current_campaign
from .. import Kind
from ..wording import OpenLetterWording
from . import content, demo, listing, moderation
from .form import OpenLetterForm
from .models import Signatory
from .views import bp, signers_page


class OpenLetter(Kind):
    """An open letter: listed signatories are the count; the page is the letter."""

    name = "open_letter"
    form = OpenLetterForm
    answers_model = Signatory
    answer_columns = ("signatory_type", "title", "organization", "website", "contact_name")
    page_template = "open_letter/index.html"
    signers_template = "open_letter/signers.html"
    thanks_template = "open_letter/thanks.html"
    wording = OpenLetterWording()
    export_columns = ("signatory_type", "title", "organization", "website", "contact_name", "approved_at")
    top_level_keys = content.TOP_LEVEL_KEYS
    language_keys = content.LANGUAGE_KEYS
    blueprint = bp
    dashboard_template = "open_letter/_dashboard.html"
    counts_confirmed = False  # the count is of listed signatories: moderation.list_signatories counts
    count_is_sum_of_parts = True

    def check_server(self) -> None:
        letter_fonts.warn_without_cjk_font()

    def demo_rows(self, rows: list[dict], chooser, now) -> None:
        demo.as_signatories(rows, chooser, now)

    def parse_settings(self, data: dict, campaign_dir: Path) -> content.Settings:
        return content.parse_settings(data, campaign_dir)

    def parse_letter(self, table: dict, language: str) -> content.Letter:
        return content.parse_letter(table, language)

    def counted(self, campaign_id: int):
        return listing.counted(campaign_id)

    def addressed_as(self, answers) -> str:
        """An organization's emails greet the person who signed for it."""
        return str(answers.get("contact_name") or answers["name"])

    def signers_page(self, args):
        return signers_page(args)

    def page_context(self) -> dict:
        return {
            "organizations": listing.listed_page(listing.ORGANIZATION),
            "individuals": listing.listed_page(listing.INDIVIDUAL),
            "counts": listing.listed_counts(),
            "letter_date": current_campaign().settings.date(),
        }

    def listing_version(self) -> tuple:
        # The page shows the letter's date too, which moves at midnight when the file sets none.
        return (*listing.listing_version(), current_campaign().settings.date())

    def background_work(self) -> int:
        """Build the letter's PDFs that are behind the list (pdfs.py)."""
        from .pdfs import build_due_pdfs

        return build_due_pdfs()

    def stop_background_work(self) -> None:
        from .pdfs import stop_builds

        stop_builds()

    def listed_signatories(self):
        """(organizations: [(name, website or "")], individuals: [(name, title, organization)])."""
        return listing.listed_signatories()

    def count_parts(self) -> dict[str, int]:
        return listing.listed_counts()

    def dashboard_figures(self) -> listing.Queue:
        return listing.moderation_queue()

    def awaiting_moderation(self) -> int:
        return listing.waiting_count()

    def on_confirm(self, signature_id: int) -> None:
        """Without moderation, a confirmed signatory is on the letter at once."""
        if not current_campaign().settings.moderation:
            moderation.list_signatories([signature_id])


KIND = OpenLetter()
