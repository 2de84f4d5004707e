"""Organizer pages: login, dashboard, CSV export, finding, hiding and erasing signers."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from . import accounts, reasons, signatures, stats
from .audit import recent_events
from .campaign import current_campaign
from .campaigns import campaign_scope, registry
from .chart import day_chart
from .counter import current_tally
from .export import FilterError, audited_export, parse_filters
from .extensions import client_key, configured_limit, limiter
from .forms import FindSignerForm, LoginForm
from .kinds import kind_for
from .models import ID_MAX, utcnow
from .security import forbid_storing
from .tokens import DEVICE, token_lifetime

bp = Blueprint("admin", __name__, url_prefix="/admin")

DEVICE_COOKIE = "organizer_device"


@bp.context_processor
def organizer_context() -> dict:
    """current_user for the organizer templates, read only where a template uses it, and
    whether the deployment has several campaigns (the menu then links to all of them)."""
    return {"current_user": current_user, "several_campaigns": lambda: len(registry().campaigns()) > 1}


# Nothing an organizer sees may sit in a shared or browser cache.
bp.after_request(forbid_storing)


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else goes to the dashboard."""
    fallback = url_for("admin.dashboard")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(character) < 32 for character in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def _device_cookie(response: Response, token: str | None) -> Response:
    """Give this browser its device token (for as long as the token lasts), or take it away."""
    options = {
        "path": "/admin",
        "httponly": True,
        "samesite": "Lax",
        "secure": current_app.config["SESSION_COOKIE_SECURE"],
    }
    if token is None:
        response.delete_cookie(DEVICE_COOKIE, **options)
    else:
        response.set_cookie(
            DEVICE_COOKIE, token, max_age=int(token_lifetime(DEVICE).total_seconds()), **options
        )
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_LOGIN"), methods=["POST"])
def login():
    """The organizer login form, throttled after repeated failures."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        try:
            device = request.cookies.get(DEVICE_COOKIE)
            organizer = accounts.authenticate(
                form.email.data,
                form.password.data,
                client=client_key(),
                device_for=accounts.device_organizer(device),
            )
        except accounts.Throttled as throttled:
            minutes = max(1, round(throttled.retry_after / 60))
            error = _("Too many attempts. Please wait %(minutes)d minutes and try again.", minutes=minutes)
            status, headers = 429, {"Retry-After": str(throttled.retry_after)}
        else:
            if organizer is not None:
                session.clear()  # a fresh session: nothing from before the login carries over
                login_user(organizer)
                response = redirect(safe_next(request.args.get("next")), 303)
                return _device_cookie(response, accounts.remember_device(organizer, device))
            error = _("That email address and password do not match an organizer account.")
            status = 401
    elif form.is_submitted():
        status = 422
    return render_template("admin/login.html", form=form, error=error), status, headers


@bp.post("/logout")
@login_required
def logout():
    """End this organizer's sessions and forget this browser."""
    accounts.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    return _device_cookie(redirect(url_for("admin.login"), 303), None)


@bp.get("/")
@login_required
def dashboard():
    """A campaign's dashboard: totals, days, regions, sources, delivery and the audit log. At
    /admin/ of a deployment with several campaigns, the overview of them all instead."""
    every = registry().campaigns()
    if g.campaign_at_root and (len(every) > 1 or g.campaign is None):
        return overview(every)
    days = stats.per_day(30)
    kind = kind_for(current_campaign())
    return render_template(
        "admin/dashboard.html",
        totals=stats.totals(),
        chart=day_chart(days),
        days=days,
        regions=stats.regions(),
        sources=stats.top_sources(),
        domains=stats.domain_rates(),
        latest=stats.latest_signatures(),
        outbox=stats.outbox_health(),
        events=recent_events(current_campaign().id),
        bursts=stats.domain_bursts(current_app.config["DOMAIN_BURST_THRESHOLD"]),
        to_review=reasons.reasons_to_review() if current_campaign().show_reasons else None,
        kind_template=kind.dashboard_template,
        kind_figures=kind.dashboard_figures(),
        anonymise_at=current_campaign().anonymise_at(),
        now=utcnow(),
    )


def overview(every: list):
    """Every campaign at a glance: counts today and in all, moderation waiting, mail queued."""
    rows = []
    today = utcnow().date()
    for campaign in every:
        with campaign_scope(campaign, at_root=False):
            kind = kind_for(campaign)
            rows.append(
                CampaignFigures(
                    campaign=campaign,
                    title=campaign.in_language(campaign.languages[0]).title,
                    count=current_tally().count,
                    today=stats.per_day(1, today)[0].confirmed,
                    totals=stats.totals(),
                    to_moderate=kind.awaiting_moderation(),
                    queued=stats.outbox_health().queued,
                    dashboard_url=url_for("admin.dashboard"),
                )
            )
    return render_template("admin/overview.html", rows=rows, events=recent_events(None))


@dataclass(frozen=True)
class CampaignFigures:
    """One line of the overview."""

    campaign: object
    title: str
    count: int
    today: int
    totals: stats.Totals
    to_moderate: int | None
    queued: int
    dashboard_url: str


@bp.get("/export.csv")
@login_required
def export():
    """Stream the chosen signatures as CSV, recorded in the audit log."""
    try:
        filters = parse_filters(request.args)
    except FilterError as error:
        return render_template("admin/export_error.html", message=str(error)), 400
    chunks = audited_export(filters, actor=current_user.email)
    response = Response(stream_with_context(chunks), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filters.filename(utcnow().date())}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/signers")
@login_required
def find():
    """Look a signer up by email address, to hide or erase their signature."""
    form = FindSignerForm(request.args)
    signature = None
    searched = "email" in request.args
    if searched and form.validate():
        signature = signatures.find_signature(form.email.normalized)
    return render_template(
        "admin/find.html",
        form=form,
        signature=signature,
        counted=signature is not None and signatures.is_counted(signature.id),
        searched=searched,
    ), 200 if not searched or not form.errors else 422


@bp.post(f"/signers/<int(max={ID_MAX}):signature_id>/hide")
@login_required
def hide(signature_id: int):
    """Take a signature's name off the public list."""
    if not signatures.hide_signature(signature_id, actor=current_user.email):
        return render_template(
            "admin/done.html", message=_("There was no such signature; nothing was hidden.")
        ), 404
    return render_template("admin/done.html", message=_("The name is no longer shown in the public list."))


@bp.post(f"/signers/<int(max={ID_MAX}):signature_id>/erase")
@login_required
def erase(signature_id: int):
    """Erase a signature and all its data."""
    erased = signatures.erase_signature(signature_id, actor=current_user.email)
    message = (
        _("The signature and its data are erased.")
        if erased
        else _("There was no such signature; nothing was erased.")
    )
    return render_template("admin/done.html", message=message), 200 if erased else 404


@bp.post(f"/reasons/<int(max={ID_MAX}):signature_id>/<any(approve, reject):verdict>")
@login_required
def review(signature_id: int, verdict: str):
    """Approve a signer's reason for the public pages, or reject it (the signature stays)."""
    review_reason = reasons.approve_reason if verdict == "approve" else reasons.reject_reason
    if not review_reason(signature_id, actor=current_user.email):
        return render_template(
            "admin/done.html", message=_("There was no such reason; nothing was changed.")
        ), 404
    return redirect(url_for("admin.dashboard", _anchor="reasons-title"), 303)
