"""The open letter's own routes: the letter as PDF and printable HTML, the grouped list of
signatories, and the organizers' approve and reject buttons."""

import re

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...admin import organizer_context
from ...counter import current_tally
from ...models import ID_MAX
from ...security import forbid_storing
from .listing import INDIVIDUAL, ORGANIZATION, listed_counts, listed_page
from .moderation import Verdict, approve_signatory, approve_unflagged, reject_signatory

bp = Blueprint("open_letter", __name__)
moderation_bp = Blueprint("moderation", __name__, url_prefix="/admin/signatures")
moderation_bp.after_request(forbid_storing)  # nothing an organizer sees is cached
moderation_bp.context_processor(organizer_context)
bp.register_blueprint(moderation_bp)

CURSOR = re.compile(r"[0-9]{1,12}")


def _id(value: str) -> int | None:
    """An id as a form or a query string gives it; None when it cannot name a signature."""
    return int(value) if CURSOR.fullmatch(value) and int(value) <= ID_MAX else None


def _language() -> str:
    return str(get_locale() or "en")


def _cursor(args, name: str) -> int:
    value = _id(args.get(name, "0"))
    if value is None:
        abort(404)
    return value


def signers_page(args):
    """GET /signers for an open letter: organizations, then individuals, each in pages of its own."""
    org_after, ind_after = _cursor(args, "org_after"), _cursor(args, "ind_after")
    organizations = listed_page(ORGANIZATION, org_after)
    individuals = listed_page(INDIVIDUAL, ind_after)
    if (org_after and not organizations.rows) or (ind_after and not individuals.rows):
        abort(404)
    return render_template(
        "open_letter/signers.html",
        organizations=organizations,
        individuals=individuals,
        counts=listed_counts(),
        tally=current_tally(),
    )


@bp.get("/letter.pdf")
def letter_pdf():
    """The letter and its listed signatories as a PDF in the page's language: the last one
    built in the background (pdfs.py), or a 503 pointing to the printable page meanwhile."""
    from . import pdfs

    language = _language()
    stored = pdfs.stored_pdf(language)
    if stored is None:
        from ...letter_pdf import unavailable_page

        print_url = url_for("open_letter.letter_html", lang=language)
        return unavailable_page(print_url, preparing=pdfs.build_problem(language) is None)
    pdf, built_at = stored
    response = Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="open-letter-{language}.pdf"'},
    )
    response.last_modified = built_at
    return response


@bp.get("/letter")
def letter_html():
    """The letter and its listed signatories as a plain page to print, always as listed now."""
    from ... import letter_pdf
    from .pdfs import letter_parts

    language = _language()
    page = letter_pdf.render_letter_html(
        *letter_parts(language), pdf_url=url_for("open_letter.letter_pdf", lang=language)
    )
    return Response(page, mimetype="text/html")


def _done(message: str, status: int):
    return render_template("admin/done.html", message=message), status


@moderation_bp.post(f"/<int(max={ID_MAX}):signature_id>/<any(approve, reject):verdict>")
@login_required
def review(signature_id: int, verdict: str):
    """Put a signatory on the letter, or reject (erase) them."""
    if verdict == "reject":
        if not reject_signatory(signature_id, actor=current_user.email):
            return _done(_("There was no such signature; nothing was changed."), 404)
        return redirect(url_for("admin.dashboard", _anchor="moderation-title"), 303)
    outcome = approve_signatory(signature_id, actor=current_user.email)
    if outcome is Verdict.UNKNOWN:
        return _done(_("There was no such signature; nothing was changed."), 404)
    if outcome is Verdict.NOT_CONFIRMED:
        return _done(
            _("This signature is not confirmed yet: it can be approved once its signer confirms it."), 409
        )
    if outcome is Verdict.ALREADY:
        return _done(_("This signatory is already on the letter, or took their name off it."), 409)
    return redirect(url_for("admin.dashboard", _anchor="moderation-title"), 303)


@moderation_bp.post("/approve")
@login_required
def approve_page():
    """Approve every signatory of the queue page the organizer was shown but the flagged ones,
    and say how many were skipped."""
    ids = [_id(value) for value in request.form.getlist("ids")]
    if not ids or None in ids:
        return _done(_("No signatory was chosen; nothing was changed."), 400)
    listed, skipped = approve_unflagged(ids, actor=current_user.email)
    if skipped:
        approved = ngettext(
            "%(num)s signatory was approved.", "%(num)s signatories were approved.", len(listed)
        )
        flagged = ngettext(
            "%(num)s flagged signatory was skipped: its row says what to check before you approve it.",
            "%(num)s flagged signatories were skipped: each row says what to check before you approve it.",
            skipped,
        )
        return _done(f"{approved} {flagged}", 200)
    return redirect(url_for("admin.dashboard", _anchor="moderation-title"), 303)
