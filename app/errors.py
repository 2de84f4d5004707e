"""Error pages: friendly, translated, never a stack trace; 500s carry an incident id."""

import logging
import secrets
import time

from flask import Flask, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import limiter

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page(status: int, **context):
    if _wants_json():
        return {"error": status, **{k: v for k, v in context.items() if k == "incident"}}, status
    return render_template("errors/error.html", status=status, **context), status


def handle_http_error(error: HTTPException):
    """Every 4xx and 5xx raised by Flask or a view."""
    response = _page(error.code or 500)
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        body, status = response
        return body, status, {"Allow": ", ".join(error.valid_methods)}
    return response


def handle_csrf_error(error: CSRFError):
    """An expired or missing form token: ask to try again, keep the 400."""
    return _page(400, csrf=True)


def handle_rate_limited(error: RateLimitExceeded):
    """Over a limit: a friendly page, and how many seconds to wait before the window frees up."""
    current = limiter.current_limit
    wait = max(1, int(current.reset_at - time.time())) if current else 60
    body, status = _page(429)
    return body, status, {"Retry-After": str(wait)}


def handle_database_unavailable(error: OperationalError):
    """A locked or unreachable database: ask the client to come back shortly."""
    log.warning("database unavailable: %s", type(error.orig).__name__ if error.orig else "unknown")
    body, status = _page(503)
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def handle_unstorable_input(error: DataError):
    """Input the database refuses (a value no validator should have let through): a 400, not a 500."""
    log.warning("database refused a value: %s", type(error.orig).__name__ if error.orig else "unknown")
    return _page(400)


def handle_unexpected_error(error: InternalServerError):
    """Log the failure under an incident id the visitor can quote, without request data."""
    incident = secrets.token_hex(4)
    original = getattr(error, "original_exception", None) or error
    log.error(
        "incident %s: %s on %s %s",
        incident,
        type(original).__name__,
        request.method,
        request.url_rule.rule if request.url_rule else "(no route)",
        exc_info=(type(original), original, original.__traceback__),
    )
    return _page(500, incident=incident)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; more specific ones win."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(DataError, handle_unstorable_input)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
    app.register_error_handler(HTTPException, handle_http_error)
