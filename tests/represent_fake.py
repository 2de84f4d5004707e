"""A local stand-in for Open North's Represent API: a real HTTP server on a thread that answers
`GET /postcodes/<CODE>/` with JSON of the shape Represent documents, and can fail or stall on
demand. The people and places in it are made up."""

import contextlib
import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What the fake does with the next requests.
ANSWER = "answer"  # the postal code's answer, or a 404 page for a code it does not know
ERROR = "error"  # 500, as a server in trouble does
UNAVAILABLE = "unavailable"  # 503, as Represent does over its rate limit
BAD_JSON = "bad_json"  # 200 with a body that is not JSON
STALL = "stall"  # accepts the request, then says nothing
TRICKLE = "trickle"  # headers at once, then the body one byte at a time, each well within any read timeout
TRICKLE_HEADERS = "trickle_headers"  # the status line and headers one byte at a time
BEHAVIOURS = (ANSWER, ERROR, UNAVAILABLE, BAD_JSON, STALL, TRICKLE, TRICKLE_HEADERS)
TRICKLE_PAUSE = 0.05


def representative(
    name: str,
    office: str,
    district: str,
    set_name: str,
    email: str = "",
    party: str = "",
) -> dict:
    """One representative as Represent lists them (every field it documents, most of them blank)."""
    first, _, last = name.partition(" ")
    slug = set_name.lower().replace(" ", "-")
    return {
        "name": name,
        "district_name": district,
        "elected_office": office,
        "source_url": f"https://council.example.org/{slug}/members",
        "first_name": first,
        "last_name": last,
        "party_name": party,
        "email": email,
        "url": "",
        "personal_url": "",
        "photo_url": "",
        "gender": "",
        "offices": [{"type": "legislature", "tel": "1 555 555-0100"}],
        "extra": {},
        "representative_set_name": set_name,
        "related": {
            "representative_set_url": f"/representative-sets/{slug}/",
            "boundary_url": f"/boundaries/{slug}-wards/{district.lower().replace(' ', '-')}/",
        },
    }


def postcode_answer(code: str, concordance: Iterable[dict] = (), centroid: Iterable[dict] = ()) -> dict:
    """A /postcodes/<code>/ answer: the code, its place, and who represents it."""
    return {
        "code": code,
        "city": "Riverbend",
        "province": "ON",
        "centroid": {"type": "Point", "coordinates": [-75.7, 45.4]},
        "boundaries_concordance": [],
        "boundaries_centroid": [],
        "representatives_concordance": list(concordance),
        "representatives_centroid": list(centroid),
    }


class RepresentFake:
    """The fake server: `postcodes` maps a code (no space, capitals) to its answer, `behaviour`
    is one of BEHAVIOURS, `requests` lists the paths asked for. Start it, point REPRESENT_URL
    at `url`, stop it at the end (stopping wakes any request it is stalling)."""

    def __init__(self):
        self.postcodes: dict[str, dict] = {}
        self.behaviour = ANSWER
        self.stall_seconds = 30.0
        self._requests: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[str]:
        with self._lock:
            return list(self._requests)

    def add(self, code: str, concordance: Iterable[dict] = (), centroid: Iterable[dict] = ()) -> None:
        self.postcodes[code] = postcode_answer(code, concordance, centroid)

    def reset(self) -> None:
        """Back to answering, with no postal codes and no requests seen."""
        self.postcodes.clear()
        self.behaviour = ANSWER
        with self._lock:
            self._requests.clear()

    def start(self) -> "RepresentFake":
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="represent-fake", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (the standard library's name)
                with fake._lock:
                    fake._requests.append(self.path)
                # The client hangs up on a stalling server, as it should.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(fake.behaviour)

            def _answer(self, behaviour: str) -> None:
                if behaviour == STALL:
                    fake._stopping.wait(fake.stall_seconds)
                elif behaviour == TRICKLE_HEADERS:
                    self._trickle(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Pad: a\r\n" * 400
                    )
                elif behaviour in (ERROR, UNAVAILABLE):
                    self._send(500 if behaviour == ERROR else 503, b"<h1>Server Error</h1>", "text/html")
                elif behaviour == BAD_JSON:
                    self._send(200, b'{"code": "K1A0B1", "representatives_centroid": [', "application/json")
                else:
                    self._postcode(behaviour == TRICKLE)

            def _postcode(self, trickle: bool) -> None:
                parts = self.path.split("?")[0].strip("/").split("/")
                answer = fake.postcodes.get(parts[1]) if len(parts) == 2 and parts[0] == "postcodes" else None
                if answer is None:
                    self._send(404, b"<h1>Not Found</h1>", "text/html")
                    return
                body = json.dumps(answer).encode()
                if not trickle:
                    self._send(200, body, "application/json; charset=utf-8")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self._trickle(body)

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _trickle(self, data: bytes) -> None:
                for index in range(len(data)):
                    if fake._stopping.wait(TRICKLE_PAUSE):
                        return
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()

            def log_message(self, format, *args):  # noqa: A002 (the standard library's name)
                pass  # quiet: pytest shows stderr of failing tests

        return Handler
