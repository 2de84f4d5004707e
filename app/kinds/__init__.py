"""Kinds of campaign: what a petition, an open letter or a letter does its own way, one module each."""

import importlib
from functools import cache

# The campaign file's top-level `kind` picks one; each is the module app/kinds/<name>.py,
# which exposes KIND. Loaded by name, so this package imports nothing the kinds use.
NAMES = ("petition",)
DEFAULT = "petition"


class Kind:
    """What one kind of campaign decides; a kind overrides what differs, as a MethodView does.

    Everything shared (signing, confirming, counting, mail, the export's machinery) stays
    in its own module and asks the campaign's kind for these.
    """

    # The sign form, a forms.SignForm: each answer is the new signature's column of that name.
    form: type
    # The campaign page and the public list of signers.
    page_template: str
    signers_template: str
    # Columns of `signatures` the CSV export adds after the contract's ones.
    export_columns: tuple[str, ...] = ()

    def list_signers(self, cursor: str | None):
        """One page of the public list, as signatures.SignerPage with rows for signers_template;
        `cursor` comes from the page before (keyset.keyset_page), None for the first page.
        Raise keyset.BadCursor for a cursor the list did not make."""
        raise NotImplementedError

    def on_confirm(self, signature_id: int) -> None:
        """Called inside the confirm transaction once the signature is counted; nothing by default."""


@cache
def _load(name: str) -> Kind:
    return importlib.import_module(f"{__name__}.{name}").KIND


def kind_for(campaign) -> Kind:
    """The kind the campaign file chose (campaign.py has checked that it is one of NAMES)."""
    return _load(campaign.kind)
