"""In-process figures of a deployment holding many campaigns (bench/campaigns.py fills it).

Started with DATABASE_URL naming the filled database and BENCH_BIG naming the slug of its
largest campaign. Through Flask's test client, in this process alone (`time.process_time()`:
this process's CPU), it measures the largest campaign's page, sign and confirm at its own
address beside hello-world, best of ROUNDS interleaved rounds; every campaign's organizer
dashboard (wall and CPU, best of five); and the organization's page at `/`. Prints one JSON
line.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from cpu import CSRF, Requests, measure  # noqa: E402
from pages_probe import EMAIL, PASSWORD, best_of  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts import create_organizer  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Campaign, Organizer  # noqa: E402

ROUNDS, REQUESTS = 3, 300


def requests_cpu(app, slug: str) -> dict:
    """cpu.measure's rounds, at the campaign's own address (warmed up first, as cpu.py does)."""
    requests = Requests(app, at=f"/{slug}")
    requests.page(30)
    requests.sign(30)
    requests.prepare_confirm(30)
    requests.confirm(30)
    return measure(requests, REQUESTS, ROUNDS)


def main() -> None:
    app = create_app()
    with app.app_context():
        if db.session.scalar(select(Organizer.id).where(Organizer.email == EMAIL)) is None:
            create_organizer(EMAIL, PASSWORD)
        slugs = db.session.scalars(select(Campaign.slug).order_by(Campaign.id)).all()
    organizer = app.test_client()
    token = CSRF.search(organizer.get("/admin/login").get_data(as_text=True)).group(1)
    login = organizer.post("/admin/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    assert login.status_code == 303, login.status_code
    dashboards = {slug: best_of(organizer, f"/admin/{slug}/") for slug in slugs}
    index = best_of(app.test_client(), "/")
    overview = best_of(organizer, "/admin/")  # with several campaigns, the overview of them all
    cpu = requests_cpu(app, os.environ["BENCH_BIG"])
    print(json.dumps({"cpu": cpu, "dashboards": dashboards, "index": index, "overview": overview}))


if __name__ == "__main__":
    main()
