"""Public pages: the campaign, signing, confirming, the count, the list of signers."""

import re
import time
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import reasons, signatures
from .campaign import current_campaign
from .campaigns import campaign_scope, registry
from .countapi import count_response
from .counter import current_tally
from .extensions import campaign_client_key, configured_limit, db, limiter
from .forms import ResendForm
from .i18n import offered_languages
from .keyset import BadCursor
from .kinds import kind_for
from .links import external_url
from .mail import cannot_reach
from .models import Campaign
from .security import allow_framing, never_stored
from .tokens import CONFIRM, WITHDRAW, ExpiredToken, InvalidToken, read_link

bp = Blueprint("public", __name__)

SOURCE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CAMPAIGNS_PER_PAGE = 20
OTHERS_SHOWN = 5
# Another campaign's count on a cached campaign page is at most this many seconds old.
OTHERS_REFRESH_SECONDS = 30
# A newly approved reason reaches the cached campaign page within this many seconds.
REASONS_REFRESH_SECONDS = 30
# The session key naming the signature confirmed in this browser, for the thank-you page.
CONFIRMED_SIGNATURE = "confirmed_signature"


def consent_wording() -> str:
    """The exact sentence next to the updates box, stored with each consent."""
    return _(
        "Yes, %(organization)s may email me about this campaign and related ones. "
        "I can unsubscribe at any time.",
        organization=current_campaign().in_language(_language()).organization,
    )


@bp.app_context_processor
def campaign_context() -> dict:
    """What every page's layout shows: the campaign in the visitor's language (on a page of no
    campaign, such as an unknown address's 404, the home campaign's, or none at all)."""
    campaign = g.get("campaign") or current_app.extensions["campaigns"].home
    language = _language()
    if campaign is None:
        return {"campaign": None, "content": None, "language": language, "languages": offered_languages()}
    languages = offered_languages()
    # Links to the page in this language: the default one needs no ?lang=, nor does a one-language site.
    lang_query = f"?lang={language}" if language in languages[1:] else ""
    return {
        "campaign": campaign,
        "content": campaign.in_language(language),
        "language": language,
        "languages": languages,
        "lang_query": lang_query,
        "wording": kind_for(campaign).wording,
        "other_campaigns": lambda: other_campaigns(campaign),
    }


def _source() -> str:
    value = request.args.get("source", "")
    return value if SOURCE.match(value) else ""


def _language() -> str:
    return str(get_locale() or "en")


def _kind():
    return kind_for(current_campaign())


def _shown_reasons(limit: int) -> list[reasons.Reason]:
    """Approved reasons when the campaign file turns them on; none otherwise."""
    return reasons.public_reasons(limit) if current_campaign().show_reasons else []


def render_campaign(form: FlaskForm, status: int = 200, tally=None):
    """The kind's campaign page with this form (its errors, or a letter's step 2), and a status."""
    campaign = current_campaign()
    kind = _kind()
    return render_template(
        kind.page_template,
        form=form,
        campaign=campaign,
        content=campaign.in_language(_language()),
        tally=tally or current_tally(),
        is_open=campaign.is_open(),
        reasons=_shown_reasons(5),
        consent=consent_wording(),
        source=_source(),
        share_url=external_url("public.index"),
        **kind.page_context(),
    ), status


@bp.get("/")
def index():
    """The campaign page, from the page cache while the count and the language stay the same;
    at `/` of a deployment with several campaigns, the organization's page instead."""
    if g.campaign_at_root and (g.campaign is None or registry().visible_count > 1):
        return organization_page()
    tally = current_tally()
    # The page's links start with the script root (SCRIPT_NAME, the operator's setting): keyed by
    # it, a server that ever took it from a request could not hand one visitor's links to all.
    campaign = current_campaign()
    reasons_epoch = time.monotonic() // REASONS_REFRESH_SECONDS if campaign.show_reasons else 0
    key = (
        campaign.id,
        campaign.revision_id,
        g.campaign_at_root,
        request.script_root,
        _language(),
        _source(),
        tally.count,
        tally.goal,
        tally.parts,
        campaign.is_open(),
        reasons_epoch,
        _others_epoch(campaign),
        _kind().listing_version(),
    )
    page = current_app.extensions["page_cache"].render(
        key, lambda: render_campaign(_kind().form(), tally=tally)[0]
    )
    return page


def _others_epoch(campaign) -> float:
    """Changes every OTHERS_REFRESH_SECONDS while the page lists other campaigns and their counts."""
    return time.monotonic() // OTHERS_REFRESH_SECONDS if _others(campaign) else 0


def _others(campaign) -> list:
    """The organization's other campaigns open for signing, newest first."""
    return [
        other
        for other in reversed(registry().campaigns())
        if other.id != campaign.id and other.state == Campaign.PUBLISHED and other.is_open()
    ]


def other_campaigns(campaign=None) -> list["OtherCampaign"]:
    """The organization's other campaigns open for signing, newest first, with their counts
    ("Our other actions"): read when the page is rendered, not for its cache key."""
    return [_listed(other) for other in _others(campaign or current_campaign())[:OTHERS_SHOWN]]


def _listed(campaign) -> "OtherCampaign":
    with campaign_scope(campaign, at_root=False):
        content = campaign.in_language(_language())
        return OtherCampaign(
            title=content.title,
            url=url_for("public.index"),
            kind=kind_for(campaign).wording.kind_name,
            tally=current_tally(),
            count_noun=kind_for(campaign).wording.count_noun,
            deadline=campaign.deadline,
            is_open=campaign.is_open(),
            language=campaign.languages[0] if _language() not in campaign.languages else _language(),
        )


@dataclass(frozen=True)
class OtherCampaign:
    """A campaign as the organization's page and "Our other actions" list it."""

    title: str
    url: str
    kind: str
    tally: object
    count_noun: object
    deadline: object
    is_open: bool
    language: str


def organization_page():
    """Every visible campaign: the open ones first, newest first, then the closed ones with
    their final counts, a page at a time."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        abort(404)
    visible = [
        campaign
        for campaign in reversed(registry().campaigns())
        if campaign.state in (Campaign.PUBLISHED, Campaign.CLOSED)
    ]
    ordered = [c for c in visible if c.is_open()] + [c for c in visible if not c.is_open()]
    pages = max(1, -(-len(ordered) // CAMPAIGNS_PER_PAGE))
    if not 1 <= page <= pages or not request.args.get("page", "1").isascii():
        abort(404)
    shown = [
        _listed(campaign) for campaign in ordered[(page - 1) * CAMPAIGNS_PER_PAGE : page * CAMPAIGNS_PER_PAGE]
    ]
    return render_template(
        "public/organization.html",
        organization_page=True,  # the footer links to no one campaign's list
        open_campaigns=[row for row in shown if row.is_open],
        closed_campaigns=[row for row in shown if not row.is_open],
        page=page,
        pages=pages,
    )


@bp.post("/sign")
@limiter.limit(configured_limit("RATELIMIT_SIGN"), key_func=campaign_client_key)
def sign():
    """Take the sign form: a valid one is signed (and mailed), then on to check the inbox."""
    if not current_campaign().is_open():
        # Checked before the form: nothing of a late signer is read, let alone stored.
        return render_template("public/closed.html", tally=current_tally()), 410
    form = _kind().form()
    if not form.validate_on_submit():
        return render_campaign(form, 422)
    if form.is_bot:
        return redirect(url_for("public.check_inbox"), 303)
    data = form.to_signature(_language(), _source(), consent_wording())
    signatures.sign(data)
    return redirect(url_for("public.check_inbox", **_unreachable(data.email)), 303)


def _unreachable(email: str) -> dict:
    """The check-inbox page's flag when our relay lately could not carry addresses like this one."""
    return {"unreachable": 1} if cannot_reach(email) else {}


@bp.get("/check-inbox")
def check_inbox():
    """Tell the signer a confirmation email is on its way, with a form to send it again."""
    return render_template("public/check_inbox.html", form=ResendForm())


@bp.post("/resend")
@limiter.limit(configured_limit("RATELIMIT_RESEND"), key_func=campaign_client_key)
def resend():
    """Send the confirmation link again, saying the same whether or not the address has signed."""
    form = ResendForm()
    if not form.validate_on_submit():
        return render_template("public/check_inbox.html", form=form), 422
    signatures.resend(form.email.normalized)
    return redirect(url_for("public.check_inbox", resent=1, **_unreachable(form.email.normalized)), 303)


def _link_problem(error: InvalidToken):
    """The page for a link that no longer works, with a way to get a new one."""
    expired = isinstance(error, ExpiredToken)
    return render_template("public/link_problem.html", expired=expired, form=ResendForm()), (
        410 if expired else 404
    )


def _button_link(purpose: str, token: str, page: str, act, answer):
    """An emailed link to a one-button page: GET shows `page`, POST answers `answer(act(token))`."""
    try:
        if request.method == "POST":  # CSRFProtect has checked the form's token already
            return answer(act(token))
        signature, submitted = signatures.submitted_for_link(purpose, token)
    except InvalidToken as error:
        return _link_problem(error)
    if signature.confirmed:  # both acts would do nothing now, and say so with False
        return answer(False)
    # What the link's submission said: the page shows what pressing the button confirms.
    return render_template(page, answers=submitted.answers, letters=submitted.letters)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_CONFIRM"), key_func=campaign_client_key)
@never_stored
def confirm(token: str):
    """The confirmation link: one press counts the signature, then the thank-you page."""
    return _button_link(
        CONFIRM,
        token,
        "public/confirm.html",
        act=signatures.confirm,
        answer=lambda counted: _to_thanks(token),
    )


def _to_thanks(token: str):
    """On to the thank-you page, which may say more about the signature this browser confirmed."""
    session[CONFIRMED_SIGNATURE] = read_link(CONFIRM, token)[0]
    return redirect(url_for("public.thanks"), 303)


@bp.route("/not-me/<token>", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_CONFIRM"), key_func=campaign_client_key)
@never_stored
def withdraw(token: str):
    """The "this wasn't me" link: one press deletes a signature that is not confirmed yet."""
    return _button_link(
        WITHDRAW,
        token,
        "public/withdraw.html",
        act=signatures.withdraw,
        answer=lambda removed: render_template("public/withdrawn.html", removed=removed),
    )


@bp.get("/thanks")
@never_stored  # a letter's thanks shows its writer's name and letter
def thanks():
    """The thank-you page after confirming, with the ways to share the campaign."""
    campaign = current_campaign()
    kind = _kind()
    return render_template(
        kind.thanks_template,
        content=campaign.in_language(_language()),
        share_url=external_url("public.index"),
        **kind.thanks_context(session.get(CONFIRMED_SIGNATURE)),
    )


@bp.get("/embed")
@allow_framing
def embed():
    """The partners' widget: count, goal, progress and a link to sign, live like the page."""
    return render_template(
        "public/embed.html",
        tally=current_tally(),
        campaign_url=external_url("public.index"),
        is_open=current_campaign().is_open(),
    )


@bp.get("/api/count")
def count():
    """Reached when this process's tally is stale (otherwise countapi.CountFastPath answers)."""
    body, _etag, headers = count_response(current_tally())
    response = Response(body, headers=headers)
    return response.make_conditional(request)


@bp.get("/signers")
def signers():
    """The public list of those who chose to be listed, newest first, one page at a time.

    Pages follow one another by cursor (keyset pagination): the last page costs what the
    first does. Page numbers went with it; `?page=1` is still the first page.
    """
    laid_out = _kind().signers_page(request.args)
    if laid_out is not None:  # a kind with lists of its own (an open letter's two)
        return laid_out
    if request.args.get("page", "1") != "1":
        abort(404)
    cursor = request.args.get("cursor") or None
    kind = _kind()
    try:
        listing = kind.list_signers(cursor)
    except BadCursor:
        abort(404)
    if cursor is not None and not listing.signers:
        abort(404)
    return render_template(
        kind.signers_template,
        rows=listing.signers,
        listing=listing,
        tally=current_tally(),
        reasons=_shown_reasons(50) if cursor is None else [],
    )


@bp.get("/healthz")
def healthz():
    """Whether this process and its database answer, for a load balancer's health check."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ok")
