"""GET /api/count: its response, and a fast path in front of Flask for the busiest URL of a surge.

Every open campaign page polls the count, and so does every partner's widget. While this
process's cached tally is fresh, the fast path answers from bytes built once per change of
the tally, without Flask's routing, sessions or hooks (six times the cost of the answer
itself). When the cache is stale, the request goes to the Flask view, which reads the
database once (or answers 503 if it cannot) and refreshes the cache for everyone.
"""

import json
from functools import lru_cache

from flask import Flask

from .counter import Tally, tally_of
from .security import security_headers

PATH = "/api/count"
MAX_AGE = 5
STALE_WHILE_REVALIDATE = 30


@lru_cache(maxsize=64)  # a few tallies of each busy campaign
def count_response(tally: Tally) -> tuple[bytes, str, list[tuple[str, str]]]:
    """(body, ETag, headers) of the count, the same for both paths."""
    body = json.dumps(
        {
            "count": tally.count,
            "goal": tally.goal,
            "updated_at": tally.updated_at.isoformat(timespec="seconds"),
            **dict(tally.parts),
        },
        separators=(",", ":"),
    ).encode()
    figures = (tally.count, tally.goal, *(value for _name, value in tally.parts))
    etag = '"' + "-".join(map(str, figures)) + '"'
    headers = [
        ("Content-Type", "application/json"),
        ("ETag", etag),
        ("Cache-Control", f"public, max-age={MAX_AGE}, stale-while-revalidate={STALE_WHILE_REVALIDATE}"),
        ("Access-Control-Allow-Origin", "*"),
    ]
    return body, etag, headers


class CountFastPath:
    """WSGI middleware answering GET and HEAD /api/count and /<slug>/api/count while this
    process's tally of that campaign is fresh (and so is its list of campaigns)."""

    def __init__(self, app: Flask, downstream):
        self.app = app
        self.downstream = downstream
        self.caches = app.extensions["count_caches"]
        self.campaigns = app.extensions["campaigns"]

    def _campaign(self, path: str):
        if path == PATH:
            return self.campaigns.home
        slug, _, rest = path[1:].partition("/")
        if "/" + rest != PATH:
            return None
        return self.campaigns.served(slug)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.endswith(PATH) or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.downstream(environ, start_response)
        campaign = self._campaign(path) if self.campaigns.fresh() else None
        cache = self.caches.get(campaign.id) if campaign is not None else None
        fresh = cache.fresh() if cache is not None else None
        if fresh is None:
            return self.downstream(environ, start_response)
        count, updated_at, parts = fresh
        body, etag, headers = count_response(tally_of(count, updated_at, parts, campaign.goal))
        secure = environ.get("wsgi.url_scheme") == "https"
        headers = [*headers, *security_headers(secure)]
        if etag in environ.get("HTTP_IF_NONE_MATCH", ""):
            start_response("304 NOT MODIFIED", headers)
            return [b""]
        start_response("200 OK", headers + [("Content-Length", str(len(body)))])
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
