"""Signers' self-service through the manage link in their emails: no login, valid for months."""

from functools import wraps

from flask import Blueprint, redirect, render_template, url_for

from . import signatures
from .extensions import csrf
from .security import forbid_storing
from .tokens import MANAGE, InvalidToken

bp = Blueprint("manage", __name__, url_prefix="/manage")
# The pages show a signer's choices under an address that is itself the key to them.
bp.after_request(forbid_storing)

SELF_SERVICE = "signer (self-service)"


def gone():
    """The page for a link whose signature is erased (or never was)."""
    return render_template("manage/gone.html"), 404


def with_signature(view):
    """Resolve the link's token to its signature, or answer 404 with a page that explains."""

    @wraps(view)
    def wrapper(token: str):
        try:
            signature = signatures.signature_for_link(MANAGE, token)
        except InvalidToken:
            return gone()
        return view(token, signature)

    return wrapper


@bp.get("/<token>")
@with_signature
def show(token: str, signature):
    """The signer's page: where their choices stand, with a button to change each."""
    return render_template("manage/show.html", signature=signature, token=token)


@bp.post("/<token>/updates")
@with_signature
def stop_updates(token: str, signature):
    """Stop the updates; the signature stays counted."""
    signatures.stop_updates(signature.id)
    return redirect(url_for("manage.show", token=token, done="updates"), 303)


@bp.post("/<token>/all-updates")
@with_signature
def stop_all_updates(token: str, signature):
    """Stop all email from the organization: updates end for every signature of this address,
    in every campaign (each signature stays counted)."""
    signatures.stop_updates_everywhere(signature.email)
    return redirect(url_for("manage.show", token=token, done="all-updates"), 303)


@bp.post("/<token>/hide")
@with_signature
def hide(token: str, signature):
    """Take the signer's name off the public list."""
    if not signatures.hide_signature(signature.id, actor=SELF_SERVICE):
        return gone()  # erased since the link was read
    return redirect(url_for("manage.show", token=token, done="hidden"), 303)


@bp.post("/<token>/erase")
@with_signature
def erase(token: str, signature):
    """Erase the signature and all its data, at the signer's request."""
    if not signatures.erase_signature(signature.id, actor=SELF_SERVICE):
        return gone()
    return render_template("manage/erased.html")


@bp.post("/<token>/unsubscribe")
@csrf.exempt  # RFC 8058 one-click: the mail provider posts without cookies; the token is the proof
@with_signature
def unsubscribe(token: str, signature):
    """The one-click unsubscribe that mail providers post to (RFC 8058), and the page's button."""
    signatures.stop_updates(signature.id)
    return render_template("manage/unsubscribed.html")


@bp.get("/<token>/unsubscribe")
@with_signature
def confirm_unsubscribe(token: str, signature):
    """The List-Unsubscribe link opened in a browser: one button that posts the one-click form
    (a link scanner's GET stops nothing)."""
    return render_template("manage/unsubscribe.html", token=token)
