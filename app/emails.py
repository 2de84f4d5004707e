"""What each email says (subject, text and HTML parts, in the signer's language), as Flask-Mail messages."""

from datetime import datetime
from email import policy
from email.charset import QP, Charset
from email.header import Header
from email.utils import formataddr, make_msgid, parseaddr, quote
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mail import Message

from .campaign import current_campaign
from .extensions import db, keyed_hash
from .kinds import kind_for
from .links import external_url
from .models import OutboxMessage, Signature, Submission
from .submissions import Submitted, of_signature, of_submission
from .tokens import CONFIRM, MANAGE, WITHDRAW, link_value, make_token, token_lifetime

CONFIRMATION = "confirmation"
ALREADY_SIGNED = "already_signed"
LISTED = "listed"
MAX_LINE_BYTES = 998  # an open letter's signatory is now on the letter


class Email(Message):
    """A Flask-Mail message to one address, which may be internationalised (RFC 6531).

    Flask-Mail 0.10 writes every address with email.utils.formataddr, which refuses a
    non-ASCII local part (pallets-eco/flask-mail#156). Such an address is kept out of
    Flask-Mail's recipients, written into the To header as it is, with UTF-8 headers, and
    sent with SMTPUTF8; a server without SMTPUTF8 refuses that one message.
    """

    # Set by the transport for a server without 8BITMIME: every text part in 7 bits.
    seven_bit = False

    def __init__(self, to: str, reply_to: str | None = None, **fields):
        self.to = to
        # A letter's Reply-To is its writer, whose address may be internationalised too.
        self.reply_address = reply_to or None
        if self.international:
            fields["mail_options"] = ["SMTPUTF8", "BODY=8BITMIME"]
        super().__init__(
            recipients=[to] if to.isascii() else [],
            reply_to=reply_to if reply_to and reply_to.isascii() else None,
            **fields,
        )

    @property
    def international(self) -> bool:
        """An address needs SMTPUTF8, which Flask-Mail cannot write (the transport sends it)."""
        return not self.to.isascii() or not (self.reply_address or "").isascii()

    @property
    def send_to(self) -> set[str]:
        return {self.to}

    def has_bad_headers(self) -> bool:
        return "\n" in self.to or "\r" in self.to or super().has_bad_headers()

    def _message(self):
        message = _unwrapped(super()._message())
        name, address = parseaddr(self.sender)
        if name.isascii():
            # Flask-Mail encodes every name (=?utf-8?q?...?=); a plain one goes as it is, quoted if need be.
            message.replace_header("From", formataddr((name, address)))
        if "=?" in self.subject:
            # Text shaped like an encoded word would be decoded by the reader's mail program (and
            # the policy decodes it too): a signer's subject is encoded whole and stored as is,
            # so that it reads as typed.
            del message["Subject"]
            message.set_raw("Subject", Header(self.subject, "utf-8").encode())
        # Not refolded: refolding decodes Flask-Mail's encoded sender name and writes it back
        # unquoted, so a long name with a comma or parentheses (a letter's "Name (via
        # Organization)") became a comment or a second address. Flask-Mail folds it already.
        message.policy = message.policy.clone(max_line_length=None)
        for part in message.walk():
            _fit_lines(part, self.seven_bit)
        if self.international:
            if not self.to.isascii():
                message.replace_header("To", self.to)
            if not (self.reply_address or "").isascii():
                message["Reply-To"] = self.reply_address
            # Rewritten as UTF-8, an encoded sender name loses its quotes (and a comma in it then
            # splits it in two): give the quoted form back.
            message.replace_header("From", self.sender)
            message.policy = policy.SMTPUTF8.clone(max_line_length=None)
        return message


def _links(kind: str, signature: Signature, submitted: Submitted) -> dict[str, str]:
    links = {"campaign_url": external_url("public.index")}
    if kind == CONFIRMATION:
        # Each submission's own link: it confirms, or withdraws, what this email shows and no other.
        value = link_value(signature.id, submitted.submission_id)
        links["confirm_url"] = external_url("public.confirm", token=make_token(CONFIRM, value))
        links["withdraw_url"] = external_url("public.withdraw", token=make_token(WITHDRAW, value))
    if signature.confirmed:
        # Every email after confirmation lets the signer stop updates, hide or erase.
        token = make_token(MANAGE, signature.id)
        links["manage_url"] = external_url("manage.show", token=token)
        links["unsubscribe_url"] = external_url("manage.unsubscribe", token=token)
    return links


def _subject(kind: str, title: str) -> str:
    if kind == CONFIRMATION:
        return kind_for(current_campaign()).wording.confirm_subject % {"title": title}
    if kind == LISTED:
        return _("Your name is on the open letter: %(title)s", title=title)
    return _("You have already signed: %(title)s", title=title)


def render_email(
    kind: str, signature: Signature, message_id: str | None = None, submission: Submission | None = None
) -> Email:
    """The complete message of the given kind for one signer (with a fresh Message-ID unless
    given); a confirmation is for the signature's own answers, or for a later `submission`'s."""
    campaign = current_campaign()
    submitted = of_signature(signature) if submission is None else of_submission(submission)
    # The language the signer used, unless the campaign has since dropped it.
    asked_in = signature.language if submission is None else submission.language
    language = asked_in if asked_in in campaign.languages else campaign.languages[0]
    links = _links(kind, signature, submitted)
    with force_locale(language):
        content = campaign.in_language(language)
        context = {
            "signature": signature,
            "campaign": campaign,
            "content": content,
            "language": language,
            "link_days": token_lifetime(CONFIRM).days or 1,
            "wording": kind_for(campaign).wording,
            **links,
            "answers": submitted.answers,
            "hello_name": kind_for(campaign).addressed_as(submitted.answers),
            "letters": submitted.letters,
        }
        subject = _subject(kind, content.title)
        text = render_template(f"email/{kind}.txt", **context)
        html = render_template(f"email/{kind}.html", subject=subject, **context)
    headers = {}
    if "unsubscribe_url" in links:
        headers["List-Unsubscribe"] = f"<{links['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return build_message(
        signature.email, subject, text, html, language, content.organization, message_id, headers
    )


def render_outbox(message: OutboxMessage, signature: Signature) -> Email:
    """The email an outbox row stands for: one to the signer, or the kind's own (a letter to a
    representative), always with the row's one Message-ID."""
    message_id = outbox_message_id(message.id, message.created_at)
    if message.letter_id is None:
        submission = db.session.get(Submission, message.submission_id) if message.submission_id else None
        return render_email(message.kind, signature, message_id=message_id, submission=submission)
    return kind_for(current_campaign()).render_outbox_email(message, signature, message_id)


def _mail_domain() -> str:
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname


def _unwrapped(message):
    """The multipart/alternative itself, with the message's headers, when Flask-Mail wrapped it
    alone in a multipart/mixed: an empty "mixed" wrapper is a spam filter's sign of bulk mail."""
    if message.get_content_subtype() != "mixed" or len(message.get_payload()) != 1:
        return message
    [alternative] = message.get_payload()
    for name, value in message.items():
        if name.lower() not in ("content-type", "mime-version"):
            alternative[name] = value
    alternative.policy = message.policy
    return alternative


def _fit_lines(part, seven_bit: bool = False) -> None:
    """Quoted-printable for a text part with a line too long for SMTP (998 bytes at most, RFC
    5322): a letter's paragraph typed without a line break would be refused, or cut; and, with
    `seven_bit`, for any 8-bit text part (a server without 8BITMIME)."""
    if part.is_multipart() or part.get_content_maintype() != "text":
        return
    raw = part.get_payload()
    if not isinstance(raw, str):
        return
    too_long = max(map(len, raw.encode().splitlines()), default=0) > MAX_LINE_BYTES
    if not too_long and not (seven_bit and not raw.isascii()):
        return
    text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    utf8 = Charset("utf-8")
    utf8.body_encoding = QP
    del part["Content-Transfer-Encoding"]
    part.set_payload(text, utf8)


def sender_address(organization: str) -> str:
    """The From address: the organization's name with MAIL_DEFAULT_SENDER's address."""
    configured = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    address = parseaddr(configured)[1] or f"no-reply@{_mail_domain()}"
    # Quoted as it is typed: Flask-Mail encodes a non-ASCII name itself, and would split an
    # unquoted one at a comma.
    return f'"{quote(organization)}" <{address}>'


def outbox_message_id(outbox_id: int, created_at: datetime) -> str:
    """The one Message-ID of an outbox message, however often it is sent.

    A keyed hash of the row: it tells readers nothing of how much mail the campaign
    sends, and a new database (ids from 1 again) never repeats an old message's id.
    """
    digest = keyed_hash(f"outbox:{outbox_id}:{created_at.isoformat()}", digest_size=16)
    return f"<{digest}@{_mail_domain()}>"


def build_message(
    to: str,
    subject: str,
    text: str,
    html: str,
    language: str,
    organization: str,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> Email:
    """A text and HTML message with the headers every email carries, and any others given."""
    message = Email(
        to,
        subject=subject,
        body=text,
        html=html,
        sender=sender_address(organization),
        reply_to=current_campaign().organization_email or None,
        extra_headers={"Auto-Submitted": "auto-generated", "Content-Language": language, **(headers or {})},
    )
    message.msgId = message_id or make_msgid(domain=_mail_domain())
    return message
