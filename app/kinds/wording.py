"""The words shared pages and emails use that differ between kinds of campaign.

A petition collects signatures; an open letter, signatories whose names go on the letter; a
letter to representatives, writers whose letters go out. Templates ask `wording` (a kind's
Wording, in every page's and email's context) instead of testing the kind. Whole sentences,
never words to assemble, so each language can say them its own way.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..extensions import db


class Wording:
    """A petition's words; a kind overrides those it says differently."""

    # The tally: the noun after the number, and what a screen reader announces when it changes.
    def count_noun(self, count: int) -> str:
        return ngettext("signature", "signatures", count)

    count_announce_one = _l("{count} signature. Goal: {goal}.")
    count_announce_other = _l("{count} signatures. Goal: {goal}.")
    count_heading = _l("Signatures so far")
    kind_name = _l("Petition")  # on the organization's page, beside the title
    call_to_action = _l("Sign the petition")
    closed = _l("This petition is closed")
    share_link = _l("Link to the petition")
    share_by_email = _l("Help it grow by sharing the petition:")
    confirm_intro = _l(
        "Thank you for signing “%(title)s”. Your signature counts once you confirm it. "
        "Open this link and press the button:"
    )
    hidden_done = _l("Done: your name is no longer in the public list.")
    # Confirming: the email's subject and button, the confirmation page's heading and lead.
    confirm_subject = _l("Please confirm your signature: %(title)s")
    confirm_button = _l("Confirm my signature")
    confirm_heading = _l("Confirm your signature")
    confirm_lead = _l("One last step: press the button to be counted on “%(title)s”.")
    check_inbox = _l(
        "We have sent you an email. Open it and press the button to confirm your signature: "
        "it is counted only once confirmed."
    )
    already_signed = _l(
        "Someone, probably you, tried to sign “%(title)s” again with this email address. Your "
        "signature is already confirmed and counted: there is nothing more to do."
    )
    # The signer's own page: what they signed, the choice to be listed and the button that undoes it.
    manage_lead = _l("Signed by %(name)s. It is counted on “%(title)s”.")
    public_title = _l("Public list")
    public_off = _l("Your name is not shown in the public list.")
    public_action = _l("Hide my name")

    def public_on(self, signature) -> str:
        return _("Your name and province appear in the public list of signers.")


class OpenLetterWording(Wording):
    def count_noun(self, count: int) -> str:
        return ngettext("signatory", "signatories", count)

    count_announce_one = _l("{count} signatory. Goal: {goal}.")
    count_announce_other = _l("{count} signatories. Goal: {goal}.")
    count_heading = _l("Signatories so far")
    # Confirming does not list a signatory who still waits for an organizer: nothing says "counted".
    confirm_lead = _l("One last step: press the button to confirm your signature on “%(title)s”.")
    check_inbox = _l("We have sent you an email. Open it and press the button to confirm your signature.")
    already_signed = _l(
        "Someone, probably you, tried to sign “%(title)s” again with this email address. Your "
        "signature is already confirmed: there is nothing more to do."
    )
    manage_lead = _l("Signed by %(name)s: “%(title)s”.")
    kind_name = _l("Open letter")
    call_to_action = _l("Sign the letter")
    closed = _l("This letter is closed for signing")
    share_link = _l("Link to the letter")
    share_by_email = _l("Help it grow by sharing the letter.")
    confirm_intro = _l(
        "Thank you for signing “%(title)s”. Open this link and press the button to confirm your "
        "email address; your name appears on the letter once it is confirmed (and, when organizers "
        "check each signatory, approved):"
    )
    hidden_done = _l("Done: your name is no longer on the letter.")
    public_title = _l("On the letter")
    public_off = _l("Your name is not on the letter.")
    public_action = _l("Take my name off the letter")

    def public_on(self, signature) -> str:
        from .open_letter.models import Signatory  # not at the top: open_letter imports this module

        signatory = db.session.get(Signatory, signature.id)
        if signatory is not None and signatory.approved_at:
            return _("Your name is on the letter.")
        return _("Your name will appear on the letter once an organizer has approved it.")


class LetterWording(Wording):
    def count_noun(self, count: int) -> str:
        return ngettext("letter writer", "letter writers", count)

    count_announce_one = _l("{count} letter writer. Goal: {goal}.")
    count_announce_other = _l("{count} letter writers. Goal: {goal}.")
    count_heading = _l("Letter writers so far")
    check_inbox = _l(
        "We have sent you an email. Open it and press the button to confirm your email address: "
        "your letter goes only once you do."
    )
    already_signed = _l(
        "Someone, probably you, tried to write about “%(title)s” again with this email address. "
        "Your address is already confirmed: there is nothing more to do, and no letter goes twice."
    )
    manage_lead = _l("Written by %(name)s, about “%(title)s”.")
    kind_name = _l("Letter to representatives")
    call_to_action = _l("Write to your representatives")
    closed = _l("This campaign is closed")
    share_link = _l("Link to the letter")
    share_by_email = _l("Help it grow by sharing the letter.")
    confirm_intro = _l(
        "Thank you for writing about “%(title)s”. Your letter goes only once you confirm your "
        "email address. Open this link and press the button:"
    )
    confirm_subject = _l("Please confirm your letter: %(title)s")
    confirm_button = _l("Confirm and send my letter")
    confirm_heading = _l("Confirm your letter")
    confirm_lead = _l(
        "One last step: press the button, and your letter goes to the representatives you chose."
    )
