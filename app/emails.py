"""What each email says: subject, text and HTML parts, in the signer's language."""

import hashlib
import hmac
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from .campaign import current_campaign
from .links import external_url
from .models import Signature, utcnow
from .tokens import CONFIRM, MANAGE, WITHDRAW, make_token

CONFIRMATION = "confirmation"
ALREADY_SIGNED = "already_signed"


def _links(kind: str, signature: Signature) -> dict[str, str]:
    links = {"campaign_url": external_url("public.index")}
    if kind == CONFIRMATION:
        links["confirm_url"] = external_url("public.confirm", token=make_token(CONFIRM, signature.id))
        links["withdraw_url"] = external_url("public.withdraw", token=make_token(WITHDRAW, signature.id))
    if signature.confirmed:
        # Every email after confirmation lets the signer stop updates, hide or erase.
        token = make_token(MANAGE, signature.id)
        links["manage_url"] = external_url("manage.show", token=token)
        links["unsubscribe_url"] = external_url("manage.unsubscribe", token=token)
    return links


def _subject(kind: str, title: str) -> str:
    if kind == CONFIRMATION:
        return _("Please confirm your signature: %(title)s", title=title)
    return _("You have already signed: %(title)s", title=title)


def render_email(kind: str, signature: Signature, message_id: str | None = None) -> EmailMessage:
    """The complete message of the given kind for one signer (with a fresh Message-ID unless given)."""
    campaign = current_campaign()
    language = signature.language if signature.language in campaign.content else "en"
    links = _links(kind, signature)
    with force_locale(language):
        content = campaign.in_language(language)
        context = {
            "signature": signature,
            "campaign": campaign,
            "content": content,
            "language": language,
            **links,
        }
        subject = _subject(kind, content.title)
        text = render_template(f"email/{kind}.txt", **context)
        html = render_template(f"email/{kind}.html", subject=subject, **context)
    message = build_message(signature.email, subject, text, html, language, content.organization, message_id)
    if "unsubscribe_url" in links:
        message["List-Unsubscribe"] = f"<{links['unsubscribe_url']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _mail_domain() -> str:
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname


def sender_address(organization: str) -> str:
    """The From address: the organization's name with MAIL_DEFAULT_SENDER's address."""
    configured = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    address = parseaddr(configured)[1] or f"no-reply@{_mail_domain()}"
    return formataddr((organization, address))


def outbox_message_id(outbox_id: int, created_at: datetime) -> str:
    """The one Message-ID of an outbox message, however often it is sent.

    A keyed hash of the row: it tells readers nothing of how much mail the campaign
    sends, and a new database (ids from 1 again) never repeats an old message's id.
    """
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, f"outbox:{outbox_id}:{created_at.isoformat()}".encode(), hashlib.sha256)
    return f"<{digest.hexdigest()[:32]}@{_mail_domain()}>"


def build_message(
    to: str,
    subject: str,
    text: str,
    html: str,
    language: str,
    organization: str,
    message_id: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message with the headers every email carries."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender_address(organization)
    message["To"] = to
    reply_to = current_campaign().organization_email
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id or make_msgid(domain=_mail_domain())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = language  # after the body: set_content drops Content-* headers
    return message
