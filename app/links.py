"""Absolute links for emails, built only from PUBLIC_URL, never from a request's Host header."""

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """The full URL of an endpoint on the public site."""
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    current_app.inject_url_defaults(endpoint, values)  # the campaign's slug (routing.py)
    return adapter.build(endpoint, values, force_external=True)
