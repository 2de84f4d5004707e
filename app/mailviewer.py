"""Development only: read the mail the app would have sent, and click its links."""

import mailbox
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from flask import Blueprint, abort, render_template

from .mail import open_kept_mailbox
from .security import forbid_storing

bp = Blueprint("mailviewer", __name__, url_prefix="/_dev/mail")
bp.after_request(forbid_storing)  # signers' mail: their names, addresses and links


def _parse(message: mailbox.MaildirMessage) -> EmailMessage:
    return message_from_bytes(message.as_bytes(), policy=default)


@bp.get("/")
def inbox():
    """The kept mail, newest first."""
    box = open_kept_mailbox()
    messages = []
    for key in box.keys():  # noqa: SIM118 - iterating a Maildir yields messages, not keys
        parsed = _parse(box[key])
        messages.append(
            {"key": key, "subject": parsed["Subject"], "to": parsed["To"], "date": box[key].get_date()}
        )
    messages.sort(key=lambda item: item["date"], reverse=True)
    return render_template("mailviewer/inbox.html", messages=messages)


@bp.get("/<key>")
def show(key: str):
    """One kept message: its headers, its text part and its HTML part."""
    box = open_kept_mailbox()
    try:
        parsed = _parse(box[key])
    except KeyError:
        abort(404)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    return render_template(
        "mailviewer/show.html",
        message=parsed,
        text=text.get_content() if text else "",
        html=html.get_content() if html else "",
    )
