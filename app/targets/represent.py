"""Open North's Represent API: the elected representatives for a Canadian postal code.

`GET {REPRESENT_URL}/postcodes/K1A0B1/` answers a JSON object whose `representatives_concordance`
(from official concordance data) and `representatives_centroid` (districts holding the postal
code's centre point) list representatives with `name`, `elected_office`, `district_name`,
`representative_set_name` and, often, `email`; an unknown postal code is a 404. A page waits
for the answer at most `timeout` seconds in all, however slowly the server talks; answers are
kept per postal code, and after a failure the API is left alone for a while so that an outage
does not add the timeout to every page.
"""

import contextlib
import hashlib
import http.client
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from ..addresses import CANADIAN_POSTAL_CODE, normalize_email
from .target import Target, normalise_postal_code

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1.5
# An answer for one postal code is a few dozen kilobytes; more is not Represent.
MAX_ANSWER_BYTES = 1024 * 1024
# Answers lists, most precise first (the API's documentation says to read both).
ANSWER_LISTS = ("representatives_concordance", "representatives_centroid")
TEXT_MAX = 200
HEADERS = {"Accept": "application/json", "User-Agent": "advocacy-campaign-letters (Python http.client)"}
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RepresentUnavailable(Exception):
    """Represent gave no usable answer (down, slow, refusing, or talking nonsense)."""


class UnbuildableRequest(ValueError):
    """We could not even write the request (a value no URL can carry): our fault, not an outage."""


@dataclass
class _Entry:
    targets: tuple[Target, ...]
    fresh_until: float


class AnswerCache:
    """Answers per postal code for this process: fresh for `ttl` seconds, then kept (at most
    `size` codes, least recently used dropped first) to stand in while the API is down."""

    def __init__(self, ttl: float = 24 * 3600, size: int = 4096, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.size, self.clock = ttl, size, clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, code: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(code)
            if entry is not None:
                self._entries.move_to_end(code)
            return entry

    def fresh(self, entry: _Entry | None) -> bool:
        return entry is not None and self.clock() < entry.fresh_until

    def put(self, code: str, targets: Iterable[Target]) -> None:
        with self._lock:
            self._entries[code] = _Entry(tuple(targets), self.clock() + self.ttl)
            self._entries.move_to_end(code)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class RepresentClient:
    """Looks representatives up by postal code, keeping those whose `elected_office` or
    `representative_set_name` is one of `levels` (every one when `levels` is empty)."""

    def __init__(
        self,
        base_url: str,
        levels: Iterable[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        cache: AnswerCache | None = None,
        retry_after: float = 30.0,
        max_in_flight: int = 8,
    ):
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(
                "REPRESENT_URL must be an http:// or https:// address like https://represent.opennorth.ca"
            )
        self._host, self._port = parts.hostname, parts.port
        self._path = quote(parts.path.rstrip("/"), safe="/%")
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.levels = frozenset(level.strip().casefold() for level in levels if level.strip())
        self.timeout = timeout
        self.cache = cache or AnswerCache()
        self.retry_after = retry_after
        # Stalled look-ups are cut at the timeout, yet a hung DNS resolver holds its thread
        # until it answers: this bounds those threads (a page at a time per gunicorn thread).
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._down_until = 0.0

    def lookup(self, postal_code: str) -> list[Target]:
        """The representatives for this postal code; RepresentUnavailable when Represent cannot
        say now and has never said for this code. Only Canadian codes are looked up."""
        code = normalise_postal_code(postal_code)
        if not CANADIAN_POSTAL_CODE.match(code):
            return []
        entry = self.cache.get(code)
        if self.cache.fresh(entry):
            return list(entry.targets)
        if self.cache.clock() >= self._down_until:  # else it failed a moment ago: let it rest
            try:
                targets = self._fetch(code)
            except UnbuildableRequest as error:
                # Nothing was asked of Represent: it stays on for every other postal code.
                log.warning("Represent request not sent (%s); using the campaign's own targets", error)
                return list(entry.targets) if entry else []
            except RepresentUnavailable as error:
                # No postal code in the log: with a name it says where someone lives.
                log.warning("Represent look-up failed (%s); using the campaign's own targets", error)
                self._down_until = self.cache.clock() + self.retry_after
            else:
                self.cache.put(code, targets)
                return targets
        if entry is None:
            raise RepresentUnavailable("Represent has no answer now")
        return list(entry.targets)  # an older answer beats none

    def _fetch(self, code: str) -> list[Target]:
        status, body = self._get(f"{self._path}/postcodes/{quote(code, safe='')}/")
        if status == 404:
            return []  # a postal code Represent does not know
        if status != 200:
            raise RepresentUnavailable(f"HTTP status {status}")
        try:
            answer = json.loads(body)
        except ValueError:
            raise RepresentUnavailable("the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise RepresentUnavailable("the answer is not a JSON object")
        return self._targets(answer)

    def _get(self, path: str) -> tuple[int, bytes]:
        """(status, body) within `timeout` seconds in all; RepresentUnavailable, or
        UnbuildableRequest when http.client refuses to write the request line."""
        if not path.isascii() or CONTROL_CHARACTERS.search(path) or " " in path:
            raise UnbuildableRequest("the path is not plain ASCII")
        if not self._slots.acquire(blocking=False):
            raise RepresentUnavailable("too many look-ups still closing")
        exchange = _Exchange(self._connection(), path)
        thread = threading.Thread(target=exchange.run, args=(self._slots,), name="represent", daemon=True)
        thread.start()
        # A socket timeout bounds each read, not their sum: a server sending a byte a second
        # would hold the page for ever. The page waits for the whole exchange at most this long.
        thread.join(self.timeout)
        if thread.is_alive():
            exchange.abort()
            raise RepresentUnavailable(f"no whole answer within {self.timeout} s")
        if isinstance(exchange.error, UnicodeError | http.client.InvalidURL):
            raise UnbuildableRequest(type(exchange.error).__name__)
        if exchange.error is not None:
            raise RepresentUnavailable(type(exchange.error).__name__)
        return exchange.status, exchange.body

    def _connection(self) -> http.client.HTTPConnection:
        if self._tls is not None:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=self._tls
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _targets(self, answer: dict) -> list[Target]:
        targets: dict[str, Target] = {}
        for key in ANSWER_LISTS:
            people = answer.get(key)
            for person in people if isinstance(people, list) else ():
                target = _target(person) if isinstance(person, dict) else None
                if target and target.id not in targets and self._wanted(person):
                    targets[target.id] = target
        return list(targets.values())

    def _wanted(self, person: dict) -> bool:
        if not self.levels:
            return True
        names = (_text(person.get("elected_office")), _text(person.get("representative_set_name")))
        return any(name.casefold() in self.levels for name in names)


class _Exchange:
    """One GET on its own thread, so that the page can stop waiting and cut the connection."""

    def __init__(self, connection: http.client.HTTPConnection, path: str):
        self.connection, self.path = connection, path
        self.status, self.body, self.error = 0, b"", None
        self._aborted = threading.Event()

    def run(self, slots: threading.BoundedSemaphore) -> None:
        try:
            self.connection.connect()
            if self._aborted.is_set():
                return
            self.connection.request("GET", self.path, headers=HEADERS)
            response = self.connection.getresponse()
            self.status = response.status
            self.body = _read(response, self._aborted)
        except (OSError, http.client.HTTPException, ValueError) as error:
            self.error = error
        finally:
            self.connection.close()
            slots.release()

    def abort(self) -> None:
        """Stop the exchange: a blocked read returns at once."""
        self._aborted.set()
        sock = self.connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)


def _read(response: http.client.HTTPResponse, aborted: threading.Event) -> bytes:
    chunks, size = [], 0
    while not aborted.is_set():
        chunk = response.read1(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ValueError("answer too long")
        chunks.append(chunk)
    raise TimeoutError("aborted")


def _text(value: object) -> str:
    """One line of at most TEXT_MAX characters from the API's text, "" when it is not text."""
    if not isinstance(value, str):
        return ""
    return " ".join(CONTROL_CHARACTERS.sub(" ", value).split())[:TEXT_MAX]


def _email(value: object) -> str:
    try:
        return normalize_email(value) if isinstance(value, str) and value.strip() else ""
    except ValueError:
        return ""  # shown with "copy the letter", like someone without an address


def _target(person: dict) -> Target | None:
    name = _text(person.get("name"))
    if not name:
        return None
    set_name, district = _text(person.get("representative_set_name")), _text(person.get("district_name"))
    # The same person in the same answer gets the same id on every request and in every
    # process, so the ids ticked on the page are found again when the form comes back.
    digest = hashlib.sha256("\x1f".join((set_name, district, name)).encode()).hexdigest()[:16]
    return Target(
        id=f"rep:{digest}",
        name=name,
        role=_text(person.get("elected_office")),
        email=_email(person.get("email")),
        area=district,
        source="represent",
    )
