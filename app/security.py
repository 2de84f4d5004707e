"""Response hardening: security headers on every response, and the proxy setting."""

from functools import lru_cache, wraps
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, g, make_response, request
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


FRAMEABLE_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")


def allow_framing(view):
    """Let any site show this view in an iframe (the partners' widget); every other page refuses."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.allow_framing = True
        return view(*args, **kwargs)

    return wrapper


def forbid_storing(response: Response) -> Response:
    """Keep a response out of every cache, shared or the browser's own (its back button too)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def never_stored(view):
    """A view whose pages and redirects hold a link's token or a signer's data: never cached."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        return forbid_storing(make_response(view(*args, **kwargs)))

    return wrapper


@lru_cache(maxsize=4)
def security_headers(secure: bool, framable: bool = False) -> tuple[tuple[str, str], ...]:
    """The headers every response carries, error pages included (built once per combination)."""
    headers = [
        ("Content-Security-Policy", FRAMEABLE_POLICY if framable else CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        # same-origin keeps the Referer Flask-WTF's HTTPS check needs and tells no one else
        # where a signer came from.
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ]
    if not framable:
        headers.append(("X-Frame-Options", "DENY"))
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(headers)


def add_security_headers(response: Response) -> Response:
    """Flask's after-request hook: the security headers, unless the view set its own; an error
    page (400 and above: a refused form shows what was typed) is never stored."""
    framable = g.get("allow_framing", False) and response.status_code < 400
    if response.status_code >= 400:
        forbid_storing(response)
    for name, value in security_headers(request.is_secure, framable):
        response.headers.setdefault(name, value)
    return response


def make_redirect_relative(response: Response) -> Response:
    """Flask's after-request hook: a Location on this site loses its scheme and host.

    Werkzeug builds the slash redirect (/admin -> /admin/) from the request's Host header;
    relative, it cannot send anyone to a host a client named.
    """
    location = response.headers.get("Location")
    if location:
        parts = urlsplit(location)
        if parts.netloc and parts.netloc.lower() == request.host.lower():
            # One leading slash: "//host/..." would be read as another host again.
            path = "/" + parts.path.lstrip("/")
            response.headers["Location"] = urlunsplit(("", "", path, parts.query, parts.fragment))
    return response


def init_security(app: Flask) -> None:
    """Trust exactly TRUSTED_PROXIES hops of X-Forwarded-For and -Proto, and add the hooks.

    Only the client address and scheme: X-Forwarded-Host, -Port and -Prefix would let one
    request change the links of a page that the page cache then serves to everyone.
    ProxyFix wraps everything else, so every layer below it sees the real client and scheme.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
    app.after_request(add_security_headers)
    app.after_request(make_redirect_relative)
