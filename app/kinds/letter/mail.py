"""The letter itself, as the email each representative receives."""

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ...campaign import current_campaign
from ...emails import Email, sender_address
from ...extensions import db
from ...models import Letter, Signature
from .models import WrittenLetter


def render_letter(letter: Letter, signature: Signature, message_id: str) -> Email:
    """The signer's letter to one representative: plain text, From the signer "via" the
    organization with our address, Reply-To the signer; to LETTER_TEST_RECIPIENT instead
    when it is set, saying who it was meant for."""
    campaign = current_campaign()
    language = signature.language if signature.language in campaign.languages else campaign.languages[0]
    rehearsal_to = current_app.config.get("LETTER_TEST_RECIPIENT")
    with force_locale(language):
        content = campaign.in_language(language)
        written = db.session.get(WrittenLetter, signature.id)
        subject = written.subject
        if rehearsal_to:
            subject = _("[Rehearsal, for %(name)s] %(subject)s", name=letter.name, subject=subject)
        text = render_template(
            "email/letter.txt",
            letter=letter,
            written=written,
            signature=signature,
            rehearsal=bool(rehearsal_to),
        )
        sender = _("%(name)s (via %(organization)s)", name=signature.name, organization=content.organization)
    message = Email(
        rehearsal_to or letter.email,
        subject=subject,
        body=text,
        sender=sender_address(sender),
        reply_to=signature.email,
        extra_headers={"Content-Language": language},
    )
    message.msgId = message_id
    return message
