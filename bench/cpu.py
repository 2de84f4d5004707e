"""In-process CPU per request for the campaign page, the sign POST and the confirm POST.

The app runs on a fresh SQLite file through Flask's test client, in this process alone:
`time.process_time()` counts only this process's CPU, so the figure holds on a machine
that others are using (wall-clock time would not). `--profile NAME` prints cProfile's
top functions for one of them instead. Prints one JSON line when measuring.
"""

import argparse
import cProfile
import json
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.tokens import CONFIRM, make_token  # noqa: E402

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SECRET_KEY = "benchmark-only-secret-key-never-used-in-production"


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

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.token = CSRF.search(self.client.get("/").get_data(as_text=True)).group(1)
        self.signed = 0
        self.to_confirm: list[int] = []

    def page(self, n: int) -> None:
        for _ in range(n):
            assert self.client.get("/").status_code == 200

    def sign(self, n: int) -> None:
        for _ in range(n):
            self.signed += 1
            response = self.client.post(
                "/sign",
                data={
                    "name": "Zoë Tremblay",
                    "email": f"signer{self.signed}@example.org",
                    "postal_code": "H2X 1Y4",
                    "country": "CA",
                    "comment": "",
                    "public": "y",
                    "updates": "y" if self.signed % 3 == 0 else "",
                    "csrf_token": self.token,
                },
            )
            assert response.status_code == 303, response.status_code

    def confirm(self, n: int) -> None:
        if len(self.to_confirm) < n:
            with self.app.app_context():
                ids = db.session.execute(
                    db.text("SELECT id FROM signatures WHERE confirmed_at IS NULL ORDER BY id")
                ).scalars()
                self.to_confirm = list(ids)
        assert len(self.to_confirm) >= n, "sign first"
        with self.app.test_request_context():
            tokens = [make_token(CONFIRM, self.to_confirm.pop()) for _ in range(n)]
        for token in tokens:
            response = self.client.post(f"/confirm/{token}", data={"csrf_token": self.token})
            assert response.status_code == 303, response.status_code


def cpu_per_request(action, n: int) -> float:
    """Milliseconds of this process's CPU per request, best of three rounds of n."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        action(n)
        best = min(best, (time.process_time() - started) / n)
    return best * 1000


def hello_cpu(n: int) -> float:
    sys.path.insert(0, str(ROOT / "bench"))
    from hello import app

    client = app.test_client()
    return cpu_per_request(lambda k: [client.get("/") for _ in range(k)], n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="per round (three rounds each)")
    parser.add_argument("--profile", choices=("page", "sign", "confirm"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="petition-cpu-") as workdir:
        requests = Requests(build_app(Path(workdir)))
        # Warm every path (templates, statement caches, catalogues) before measuring.
        requests.page(50)
        requests.sign(50)
        requests.confirm(50)
        if args.profile:
            if args.profile == "confirm":
                requests.sign(args.requests)
            profiler = cProfile.Profile()
            profiler.enable()
            getattr(requests, args.profile)(args.requests)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            return
        results = {
            "hello": hello_cpu(args.requests),
            "page": cpu_per_request(requests.page, args.requests),
            "sign": cpu_per_request(requests.sign, args.requests),
        }
        requests.sign(3 * args.requests)  # the pending signatures confirm takes
        results["confirm"] = cpu_per_request(requests.confirm, args.requests)
    print(json.dumps({name: round(value, 3) for name, value in results.items()}))


if __name__ == "__main__":
    os.environ.pop("FLASK_DEBUG", None)
    main()
