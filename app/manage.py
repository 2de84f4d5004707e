"""Signers' self-service through the manage link in their emails: no login, valid for months."""

from flask import Blueprint, redirect, render_template, url_for

from . import signatures
from .extensions import csrf
from .forms import ButtonForm
from .tokens import MANAGE, InvalidToken

bp = Blueprint("manage", __name__, url_prefix="/manage")

SELF_SERVICE = "signer (self-service)"


def _signature_or_problem(token: str):
    try:
        return signatures.signature_for_link(MANAGE, token), None
    except InvalidToken:
        return None, (render_template("manage/gone.html"), 404)


@bp.get("/<token>")
def show(token: str):
    signature, problem = _signature_or_problem(token)
    if problem:
        return problem
    return render_template("manage/show.html", signature=signature, token=token, form=ButtonForm())


@bp.post("/<token>/updates")
def stop_updates(token: str):
    signature, problem = _signature_or_problem(token)
    if problem:
        return problem
    signatures.stop_updates(signature.id)
    return redirect(url_for("manage.show", token=token, done="updates"), 303)


@bp.post("/<token>/hide")
def hide(token: str):
    signature, problem = _signature_or_problem(token)
    if problem:
        return problem
    signatures.hide_signature(signature.id, actor=SELF_SERVICE)
    return redirect(url_for("manage.show", token=token, done="hidden"), 303)


@bp.post("/<token>/erase")
def erase(token: str):
    signature, problem = _signature_or_problem(token)
    if problem:
        return problem
    signatures.erase_signature(signature.id, actor=SELF_SERVICE)
    return render_template("manage/erased.html")


@bp.post("/<token>/unsubscribe")
@csrf.exempt  # RFC 8058 one-click: the mail provider posts without cookies; the token is the proof
def unsubscribe(token: str):
    signature, problem = _signature_or_problem(token)
    if problem:
        return problem
    signatures.stop_updates(signature.id)
    return render_template("manage/unsubscribed.html")
