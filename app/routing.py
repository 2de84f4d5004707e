"""Which campaign a request is for: the slug in its address, or, at the root addresses, the
deployment's home campaign (or the one a link's token names).

Every campaign route exists twice: at `/<slug>/...` (`/admin/<slug>/...` for the organizers'
pages) and at its root address (`/sign`, `/admin/export.csv`), which is where every route
was when a deployment had one campaign, and which stays for links already sent. A
`url_value_preprocessor` takes the slug out of the route's values and puts the campaign in
`g`; `url_defaults` puts it back into every link built while serving it, so a page at
`/<slug>/` links within `/<slug>/`, and one at the root links to the root.
"""

from flask import Flask, abort, current_app, g, redirect, request
from sqlalchemy import select
from werkzeug.routing import BaseConverter, Rule, ValidationError

from .campaigns import check_slug, registry
from .extensions import db
from .models import Signature
from .tokens import CONFIRM, MANAGE, WITHDRAW, InvalidToken, read_link, read_value

SLUG_ARGUMENT = "campaign_slug"
# The deployment's own pages, not any campaign's.
SITE_ENDPOINTS = frozenset({"static", "public.healthz", "admin.login", "admin.logout"})
SITE_BLUEPRINTS = frozenset({"mailviewer"})
# Routes whose token names a signature: at the root address, that signature's campaign.
TOKEN_PURPOSES = {"public.confirm": CONFIRM, "public.withdraw": WITHDRAW}


class SlugConverter(BaseConverter):
    """A campaign's slug: never one of the site's own first path segments (admin, sign...)."""

    regex = "[a-z0-9]+(?:-[a-z0-9]+)*"

    def to_python(self, value: str) -> str:
        if value in self.map.reserved_slugs:
            raise ValidationError()
        return value


def init_routing(app: Flask) -> None:
    """Give each campaign route its `/<slug>` twin and choose the campaign of each request."""
    campaign_rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SITE_ENDPOINTS and rule.endpoint.partition(".")[0] not in SITE_BLUEPRINTS
    ]
    reserved = frozenset(
        segment
        for rule in app.url_map.iter_rules()
        for segment in rule.rule.strip("/").split("/")[:2]
        if segment and "<" not in segment
    )
    app.url_map.reserved_slugs = reserved
    app.extensions["reserved_slugs"] = reserved
    app.url_map.converters["slug"] = SlugConverter
    endpoints = set()
    for rule in campaign_rules:
        path = rule.rule
        if path.startswith("/admin/"):
            twin = f"/admin/<slug:{SLUG_ARGUMENT}>/{path.removeprefix('/admin/')}"
        else:
            twin = f"/<slug:{SLUG_ARGUMENT}>{path}"
        # `/<slug>` finds the campaign page as `/<slug>/` does: no redirect that would first
        # send an unknown address (`/nowhere`) or a wrong method (`GET /sign`) elsewhere.
        app.url_map.add(
            Rule(twin, endpoint=rule.endpoint, methods=rule.methods, strict_slashes=not twin.endswith(">/"))
        )
        endpoints.add(rule.endpoint)
    app.extensions["campaign_endpoints"] = frozenset(endpoints)
    app.url_value_preprocessor(choose_campaign)
    app.url_defaults(link_within_campaign)


def choose_campaign(endpoint: str | None, values: dict | None) -> None:
    """Put the request's campaign in `g`: a 404 for an unknown slug, a redirect for an old one."""
    if endpoint not in current_app.extensions["campaign_endpoints"]:
        return
    campaigns = registry()
    slug = (values or {}).pop(SLUG_ARGUMENT, None)
    if slug is not None:
        campaign = campaigns.served(slug)
        if campaign is None and endpoint.startswith(("admin.", "moderation.")):
            campaign = campaigns.by_slug.get(slug)  # organizers see drafts too
        if campaign is None:
            renamed = campaigns.aliases.get(slug)
            if renamed is not None:
                abort(redirect(_renamed_path(slug, renamed), 308))
            abort(404)
        g.campaign, g.campaign_at_root = campaign, False
    else:
        campaign = _campaign_of_token(endpoint, values or {})
        if campaign is not None and campaign is not campaigns.home:
            # An old link of a campaign that is no longer the home one: its pages are at its slug.
            g.campaign, g.campaign_at_root = campaign, campaigns.at_root(campaign)
        else:
            campaign = campaigns.home
            g.campaign, g.campaign_at_root = campaign, True
            if campaign is None and endpoint not in ("public.index", "admin.dashboard"):
                abort(404)
    owner = current_app.extensions["kind_blueprints"].get(endpoint.partition(".")[0])
    if owner is not None and campaign.kind != owner:
        abort(404)  # a kind's own route (a letter's /write) at a campaign of another kind


def _renamed_path(old: str, new: str) -> str:
    path = request.full_path if request.query_string else request.path
    prefix = "/admin/" if path.startswith("/admin/") else "/"
    return prefix + new + path.removeprefix(prefix + old)


def _campaign_of_token(endpoint: str, values: dict):
    """At a root address, a link's signature decides the campaign (links sent before there were
    several campaigns name no slug); None when the token names no signature."""
    token = values.get("token")
    if token is None:
        return None
    purpose = TOKEN_PURPOSES.get(endpoint) or (MANAGE if endpoint.startswith("manage.") else None)
    if purpose is None:
        return None
    try:
        signature_id = read_value(purpose, token) if purpose == MANAGE else read_link(purpose, token)[0]
    except InvalidToken:
        return None
    if not isinstance(signature_id, int) or isinstance(signature_id, bool):
        return None
    campaign_id = db.session.scalar(select(Signature.campaign_id).where(Signature.id == signature_id))
    return registry().by_id.get(campaign_id) if campaign_id is not None else None


def link_within_campaign(endpoint: str, values: dict) -> None:
    """Links built for a campaign stay at its kind of address: under its slug, or at the root."""
    campaign = g.get("campaign")
    if campaign is None or SLUG_ARGUMENT in values:
        return
    if endpoint not in current_app.extensions["campaign_endpoints"]:
        return
    if not g.get("campaign_at_root", False):
        values[SLUG_ARGUMENT] = campaign.slug


def campaign_path_slug(path: str) -> str | None:
    """The slug a path starts with (`/<slug>/...`), for code in front of Flask; else None."""
    first, _, _rest = path.lstrip("/").partition("/")
    try:
        return check_slug(first)
    except ValueError:
        return None
