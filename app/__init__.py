"""The application factory."""

import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from .accounts import load_organizer
from .campaign import CampaignError, read_campaign_file
from .campaigns import Registry
from .catalogues import ensure_catalogues
from .cli import command_line_app, loading_for_a_command, register_commands
from .config import ROOT, ConfigError, check_config, limiter_storage_options, load_config
from .countapi import CountFastPath
from .database import init_database
from .errors import register_error_handlers
from .extensions import babel, csrf, db, limiter, login_manager, mail, migrate
from .i18n import TRANSLATED, init_i18n, select_language
from .jobs import start_in_web
from .kinds import NAMES, kind_named
from .mail import can_deliver
from .pagecache import PageCache
from .routing import init_routing
from .security import init_security

log = logging.getLogger(__name__)


def create_app(overrides: Mapping | None = None) -> Flask:
    """Build the app from the environment; `overrides` replaces settings (tests, benchmarks).

    A server (gunicorn, `flask run`) refuses to start on a bad setting or campaign file. The
    `flask` command, looking for one of the app's commands, instead gets an app whose commands
    say what is wrong in one line: `campaign check` needs neither a secret key nor a valid
    campaign, and a traceback would bury the message.
    """
    try:
        return _build_app(overrides)
    except (ConfigError, CampaignError) as problem:
        if not loading_for_a_command():
            raise
        return command_line_app(problem)


def _build_app(overrides: Mapping | None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if overrides:
        app.config.update(overrides)
    check_config(app.config)
    ensure_catalogues(ROOT / "translations", TRANSLATED)
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", limiter_storage_options(app.config["RATELIMIT_STORAGE_URI"])
    )
    app.extensions["campaigns"] = Registry(app, _campaign_file(app.config["CAMPAIGN_FILE"]))
    app.extensions["count_caches"] = {}
    app.extensions["page_cache"] = PageCache()

    register_extensions(app)
    register_blueprints(app)
    init_routing(app)
    register_error_handlers(app)
    register_commands(app)
    app.wsgi_app = CountFastPath(app, app.wsgi_app)
    init_security(app)
    init_i18n(app)
    register_mail(app)
    return app


def _campaign_file(path: str | None) -> str | None:
    """CAMPAIGN_FILE, checked now (a server refuses to start on a bad one); it is imported into
    the database at first use (campaigns.Registry)."""
    if not path:
        return None
    campaign, _document, _files = read_campaign_file(path)
    kind_named(campaign.kind).check_server()
    return path


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to this app."""
    db.init_app(app)
    init_database(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    # No global current_user for templates: Flask-Login's would read the session while
    # rendering any page; the admin blueprint provides its own, lazily.
    login_manager.init_app(app, add_context_processor=False)
    login_manager.user_loader(load_organizer)
    login_manager.login_view = "admin.login"
    login_manager.login_message = None
    # Organizers never get "remember me" cookies, and Flask-Login's hook for them reads the
    # session on every response: that adds "Vary: Cookie" to /api/count and every public page,
    # which would keep a CDN from sharing one cached count among all visitors.
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)
    babel.init_app(
        app, locale_selector=select_language, default_translation_directories=str(ROOT / "translations")
    )


def register_blueprints(app: Flask) -> None:
    """Public, self-service and organizer pages, the campaign kind's own pages, and the mail
    viewer (only in development without a mail server)."""
    from . import admin, mailviewer, manage, public

    app.url_map.converters["int"] = AsciiIntegerConverter
    app.register_blueprint(public.bp)
    owners = {}
    for name in NAMES:
        kind = kind_named(name)
        if kind.blueprint is not None:
            app.register_blueprint(kind.blueprint)
            owners[kind.blueprint.name] = name
    # A kind's own routes (a letter's /write) answer 404 for a campaign of another kind.
    app.extensions["kind_blueprints"] = owners
    app.register_blueprint(manage.bp)
    app.register_blueprint(admin.bp)
    if app.config["DEVELOPMENT"] and not app.config["MAIL_SERVER"]:
        app.register_blueprint(mailviewer.bp)


class AsciiIntegerConverter(IntegerConverter):
    """Werkzeug's `<int>` with ASCII digits only: its `\\d+` also takes `/signers/١٢/hide` as 12."""

    regex = "[0-9]+"


def register_mail(app: Flask) -> None:
    """Deliver from inside each web process unless a separate `mail worker` does it."""
    if not can_deliver(app):
        log.warning("MAIL_SERVER is not set: confirmation emails stay queued until it is.")
        return
    if app.config["MAIL_IN_WEB"]:
        app.before_request(start_in_web)
