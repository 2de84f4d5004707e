"""Twenty campaigns in one database: 1,000,000 signatures in one and 10,000 in each of the
others (petitions, an open letter and a letter to representatives among them), measured as
issue 20 asks. bench/run.py runs it (`--campaigns-only` alone) and writes the figures into
docs/benchmarks.md.

In-process (bench/campaigns_probe.py): the largest campaign's page, sign and confirm at its
own address, beside hello-world and beside the one-campaign figures bench/cpu.py measures
in the same run; every dashboard; the organization's page. Under gunicorn (wrk, as
bench/load.py runs it): `/<slug>/api/count` and `/<slug>/` against hello-world.
"""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

from load import WORKERS, app_env, run_wrk  # noqa: E402
from seed import seed  # noqa: E402

from helpers import free_port  # noqa: E402
from servers import Gunicorn  # noqa: E402

PYTHON = sys.executable
BIG, BIG_ROWS, SMALL_ROWS = "big-petition", 1_000_000, 10_000
# (slug, campaign file): the largest first, then 19 more of every kind.
CAMPAIGNS = [
    (BIG, "demo.toml"),
    *((f"petition-{number:02}", "demo.toml") for number in range(1, 18)),
    ("coalition-letter", "open-letter.toml"),
    ("write-to-council", "council-letter.toml"),
]
ROUNDS = 3


def flask(database_url: str, *arguments: str) -> None:
    env = {
        **os.environ,
        **app_env(database_url),
        "PUBLIC_URL": "http://127.0.0.1:8000",
        "CAMPAIGN_FILE": "none",
    }
    env.pop("FLASK_DEBUG", None)
    subprocess.run(
        [PYTHON, "-m", "flask", "--app", "wsgi", *arguments],
        cwd=ROOT,
        check=True,
        env=env,
        capture_output=True,
    )


def fill(database_url: str, big_rows: int = BIG_ROWS, small_rows: int = SMALL_ROWS) -> None:
    """The schema, the twenty campaigns, and their signatures (with their kinds' own rows)."""
    flask(database_url, "db", "upgrade")
    for slug, file in CAMPAIGNS:
        flask(database_url, "campaign", "import", str(ROOT / "campaigns" / file), "--slug", slug)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        ids = dict(connection.execute(text("SELECT slug, id FROM campaigns")).all())
    engine.dispose()
    for slug, _file in CAMPAIGNS:
        seed(database_url, big_rows if slug == BIG else small_rows, ids[slug])
    with create_engine(database_url).begin() as connection:
        # The open letter's signatories, most listed; the letter's writers, each with a letter.
        coalition = {"c": ids["coalition-letter"]}
        connection.execute(text("UPDATE signatures SET public = true WHERE campaign_id = :c"), coalition)
        connection.execute(
            text(
                "INSERT INTO open_letter_signatories (signature_id, campaign_id, signatory_type, title,"
                " organization, website, contact_name, approved_at) SELECT id, campaign_id,"
                " CASE WHEN id % 5 = 0 THEN 'organization' ELSE 'individual' END, '', '', '', '',"
                " CASE WHEN id % 10 = 0 THEN NULL ELSE confirmed_at END"
                " FROM signatures WHERE campaign_id = :c"
            ),
            coalition,
        )
        # The letter's count is of listed signatories, not of confirmed ones.
        connection.execute(
            text(
                "UPDATE count_shards SET count = CASE WHEN shard = 0 THEN (SELECT count(*) FROM"
                " open_letter_signatories WHERE campaign_id = :c AND approved_at IS NOT NULL) ELSE 0 END"
                " WHERE campaign_id = :c"
            ),
            coalition,
        )
        connection.execute(
            text(
                "INSERT INTO written_letters (signature_id, campaign_id, subject, message, targets)"
                " SELECT id, campaign_id, 'Our park', 'Please keep it open.', 'mayor' FROM signatures"
                " WHERE campaign_id = :c"
            ),
            {"c": ids["write-to-council"]},
        )


def probe(database_url: str) -> dict:
    from run import probe as run_probe

    return run_probe("campaigns_probe.py", database_url, env={"CAMPAIGN_FILE": "none", "BENCH_BIG": BIG})


def http(database_url: str) -> dict:
    """Best of ROUNDS wrk runs each, in turns: hello-world, the largest campaign's count and page."""
    hello = Gunicorn(
        free_port(), WORKERS, {"RATELIMIT_ENABLED": "0"}, app_spec="bench.hello:app", ready_path="/"
    )
    app = Gunicorn(free_port(), WORKERS, {**app_env(database_url), "CAMPAIGN_FILE": "none"})
    runs = {"hello": [], "count": [], "page": []}
    try:
        for _ in range(ROUNDS):
            runs["hello"].append(run_wrk(hello.url + "/"))
            runs["count"].append(run_wrk(f"{app.url}/{BIG}/api/count"))
            runs["page"].append(run_wrk(f"{app.url}/{BIG}/"))
    finally:
        app.stop()
        hello.stop()
    return {name: max(results, key=lambda run: run["rps"]) for name, results in runs.items()}


def measure(database_url: str) -> dict:
    fill(database_url)
    return {"probe": probe(database_url), "http": http(database_url)}
