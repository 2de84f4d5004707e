"""The petition: the sign form, a public list of names and provinces, nothing more at confirmation."""

from dataclasses import replace

from ..addresses import region_name
from ..forms import SignForm
from ..signatures import SignerPage, public_signers
from . import Kind


class Petition(Kind):
    """A petition: everything it does is the shared machinery's default."""

    name = "petition"
    form = SignForm
    page_template = "public/index.html"
    signers_template = "public/signers.html"

    def list_signers(self, cursor: str | None) -> SignerPage:
        """Confirmed signers who chose to be listed, newest first: (name, province or country)."""
        listing = public_signers(cursor)
        rows = [(name, region_name(postal_code, country)) for name, postal_code, country in listing.signers]
        return replace(listing, signers=rows)


KIND = Petition()
