"""In-process CPU per request for the campaign page, the sign POST and the confirm POST.

The app runs on a fresh SQLite file through Flask's test client, in this process alone:
`time.process_time()` counts only this process's CPU, so the figure holds on a machine
that others are using far better than wall-clock time would (though a crowded machine
still slows every instruction a little: compare with the hello-world app measured in the
same rounds). `--profile NAME` prints cProfile's top functions for one of them instead.
Prints one JSON line when measuring. With BENCH_APP_ROOT naming another checkout (make
bench unpacks the code from before issue 14 there), that code is measured instead.
"""

import argparse
import cProfile
import gc
import json
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_APP_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.tokens import CONFIRM, make_token  # noqa: E402

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SECRET_KEY = "benchmark-only-secret-key-never-used-in-production"
ROUNDS = 5


def build_app(workdir: Path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'cpu.db'}",
            "SECRET_KEY": SECRET_KEY,
            "PUBLIC_URL": "http://127.0.0.1:8000",
            "DEVELOPMENT": False,
            "MAIL_SERVER": None,
            "MAIL_IN_WEB": False,
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    app.instance_path = str(workdir)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app


class Requests:
    """The three requests, each callable `n` times with fresh data."""

    def __init__(self, app, at: str = ""):
        """`at`: the campaign's address ("/<slug>") when the deployment holds several."""
        self.app, self.at = app, at
        self.client = app.test_client()
        self.token = CSRF.search(self.client.get(f"{at}/").get_data(as_text=True)).group(1)
        self.signed = 0
        self.tokens: list[str] = []

    def page(self, n: int) -> None:
        for _ in range(n):
            assert self.client.get(f"{self.at}/").status_code == 200

    def sign(self, n: int) -> None:
        for _ in range(n):
            self.signed += 1
            response = self.client.post(
                f"{self.at}/sign",
                data={
                    "name": "Zoë Tremblay",
                    # Apart from any address a filled database holds (bench/seed.py's signerN@).
                    "email": f"cpu{os.getpid()}.{self.signed}@example.org",
                    "postal_code": "H2X 1Y4",
                    "country": "CA",
                    "comment": "",
                    "public": "y",
                    "updates": "y" if self.signed % 3 == 0 else "",
                    "csrf_token": self.token,
                },
            )
            assert response.status_code == 303, response.status_code

    def prepare_confirm(self, n: int) -> None:
        """Confirmation links for n pending signatures (sign first), for the next confirm(n)."""
        with self.app.app_context():
            ids = db.session.execute(
                db.text("SELECT id FROM signatures WHERE confirmed_at IS NULL ORDER BY id LIMIT :n"), {"n": n}
            ).scalars()
            ids = list(ids)
        assert len(ids) == n, "sign first"
        with self.app.test_request_context():
            self.tokens = [make_token(CONFIRM, signature_id) for signature_id in ids]

    def confirm(self, n: int) -> None:
        tokens, self.tokens = self.tokens[:n], self.tokens[n:]
        for token in tokens:
            response = self.client.post(f"{self.at}/confirm/{token}", data={"csrf_token": self.token})
            assert response.status_code == 303, response.status_code


def cpu_ms(action, n: int) -> float:
    """Milliseconds of this process's CPU per request, over n requests."""
    gc.collect()  # each run starts with the same garbage to collect: none
    started = time.process_time()
    action(n)
    return (time.process_time() - started) / n * 1000


def hello_client():
    sys.path.insert(0, str(ROOT / "bench"))
    from hello import app

    client = app.test_client()
    return lambda k: [client.get("/") for _ in range(k)]


def measure(requests: Requests, n: int, rounds: int = ROUNDS) -> dict:
    """Best of `rounds` for each request, the rounds interleaved so that a change in the
    machine's other load touches every request alike."""
    requests.sign(rounds * n)  # the pending signatures confirm takes
    actions = {
        "hello": hello_client(),
        "page": requests.page,
        "sign": requests.sign,
        "confirm": requests.confirm,
    }
    best = dict.fromkeys(actions, float("inf"))
    for _ in range(rounds):
        for name, action in actions.items():
            if name == "confirm":
                requests.prepare_confirm(n)
            best[name] = min(best[name], cpu_ms(action, n))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help=f"per round ({ROUNDS} rounds each)")
    parser.add_argument("--profile", choices=("page", "sign", "confirm"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="petition-cpu-") as workdir:
        requests = Requests(build_app(Path(workdir)))
        # Warm every path (templates, statement caches, catalogues) before measuring.
        requests.page(50)
        requests.sign(50)
        requests.prepare_confirm(50)
        requests.confirm(50)
        if args.profile:
            if args.profile == "confirm":
                requests.sign(args.requests)
                requests.prepare_confirm(args.requests)
            profiler = cProfile.Profile()
            profiler.enable()
            getattr(requests, args.profile)(args.requests)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            return
        results = measure(requests, args.requests)
    print(json.dumps({name: round(value, 3) for name, value in results.items()}))


if __name__ == "__main__":
    os.environ.pop("FLASK_DEBUG", None)
    main()
