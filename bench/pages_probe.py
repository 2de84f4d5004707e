"""Time the organizer dashboard and the first and last pages of /signers in this process.

Started by bench/run.py with DATABASE_URL pointing at a filled database; the app is built
and each page requested once before timing. Prints one JSON line: for each page the best
of five of the wall-clock time and of this process's CPU time, in milliseconds. The
database's own work on PostgreSQL is in the wall-clock figure only.
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts import create_organizer  # noqa: E402
from app.extensions import db  # noqa: E402
from app.keyset import AFTER, make_cursor  # noqa: E402
from app.models import Organizer, Signature  # noqa: E402
from app.signatures import SIGNERS_PER_PAGE  # noqa: E402

EMAIL, PASSWORD = "bench-organizer@example.org", "benchmark organizer password"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ROUNDS = 5


def best_of(client, url: str) -> dict:
    client.get(url)
    wall, cpu = float("inf"), float("inf")
    for _ in range(ROUNDS):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        response.get_data()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
        assert response.status_code == 200, (url, response.status_code)
    return {"wall_ms": wall * 1000, "cpu_ms": cpu * 1000}


def last_page_cursor() -> str:
    """The cursor a visitor following "Older" to the end would reach: after the row just
    newer than the oldest page."""
    key = db.session.execute(
        select(Signature.confirmed_at, Signature.id)
        .where(Signature.public.is_(True), Signature.confirmed)
        .order_by(Signature.confirmed_at, Signature.id)
        .offset(SIGNERS_PER_PAGE)
        .limit(1)
    ).one()
    return make_cursor(AFTER, tuple(key))


def main() -> None:
    app = create_app()
    with app.app_context():
        if db.session.scalar(select(Signature.id).limit(1)) is None:
            raise SystemExit("the database has no signatures")
        if db.session.scalar(select(Organizer.id).where(Organizer.email == EMAIL)) is None:
            create_organizer(EMAIL, PASSWORD)
        cursor = last_page_cursor()
    client = app.test_client()
    token = CSRF.search(client.get("/admin/login").get_data(as_text=True)).group(1)
    login = client.post("/admin/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    assert login.status_code == 303, login.status_code
    results = {
        "dashboard": best_of(client, "/admin/"),
        "signers_first": best_of(client, "/signers"),
        "signers_last": best_of(client, f"/signers?cursor={cursor}"),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
