"""What a moderator should look at twice before a signatory goes on the letter.

A row is flagged when its address could be anyone's while it speaks for an organization
(free mail, or a personal Internet provider), when an organization's address is not at its
website's domain, or when a name, a website or the address's domain may pose as another
(mixed scripts, Latin look-alikes). An individual who names no affiliation may sign from
any address. The flags only ask for a look: approving the whole page skips flagged rows,
and each can still be approved on its own.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...domains import (
    is_free_mail,
    is_homograph,
    registrable_domain,
    shown_host,
    shown_website,
    unicode_host,
    website_host,
)
from ...models import Signature
from .form import ORGANIZATION
from .models import Signatory

NAME_FIELDS = {
    "name": _l("The name mixes writing systems or uses look-alike letters."),
    "contact_name": _l(
        "The name of the person who signed for it mixes writing systems or uses look-alike letters."
    ),
    "organization": _l("The organization named mixes writing systems or uses look-alike letters."),
}


@dataclass(frozen=True)
class Vetted:
    """A waiting signatory as the queue shows it: the address's domain, the website as it should
    be read, and the reasons to look twice (none: a clean row)."""

    signature: Signature
    signatory: Signatory
    domain: str
    website: str
    flags: list[str]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def vet(signature: Signature, signatory: Signatory) -> Vetted:
    """The flags of one waiting signatory."""
    domain = signature.email.rpartition("@")[2]
    organization = signatory.signatory_type == ORGANIZATION
    names = {
        "name": signature.name,
        "contact_name": signatory.contact_name,
        "organization": signatory.organization,
    }
    flags = [str(message) for field, message in NAME_FIELDS.items() if is_homograph(names[field])]
    if is_homograph(unicode_host(domain)):
        flags.append(_("The email address's domain mixes writing systems or uses look-alike letters."))
    host = website_host(signatory.website) if organization else ""
    if host and is_homograph(unicode_host(host)):
        flags.append(_("The website's address mixes writing systems: it is shown in its xn-- form."))
    if (organization or signatory.organization) and is_free_mail(domain):
        flags.append(
            _("Signed from a free or personal email address (%(domain)s).", domain=shown_host(domain))
        )
    elif host and registrable_domain(host) != registrable_domain(domain):
        flags.append(
            _(
                "The email address (at %(domain)s) is not at the website's domain (%(website)s).",
                domain=shown_host(domain),
                website=shown_host(registrable_domain(host)),
            )
        )
    website = shown_website(signatory.website) if organization else ""
    return Vetted(signature, signatory, shown_host(domain), website, flags)


def unflagged(rows: list[tuple[Signature, Signatory]]) -> tuple[list[int], int]:
    """The ids of the clean ones among `rows` (signatures with their signatories), and how many
    were flagged."""
    vetted = [vet(signature, signatory) for signature, signatory in rows]
    return [row.signature.id for row in vetted if not row.flagged], sum(row.flagged for row in vetted)
