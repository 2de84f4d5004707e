"""HTTP load with wrk: the petition against a hello-world baseline, same gunicorn settings."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers import free_port  # noqa: E402
from servers import Gunicorn, Visitor  # noqa: E402

WRK = Path(__file__).resolve().parent / "wrk"
# Production refuses keys shorter than 32 characters.
BENCH_SECRET_KEY = "benchmark-only-secret-key-never-used-in-production"
DURATION = int(os.environ.get("BENCH_SECONDS", "8"))
THREADS, CONNECTIONS = 2, 32
WORKERS = 2 * (os.cpu_count() or 1)
PENDING = 60_000
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed on first use."""
    if not shutil.which("wrk"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    return shutil.which("wrk")


def run_wrk(url: str, script: str | None = None, env: dict | None = None) -> dict:
    command = [ensure_wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency"]
    if script:
        command += ["-s", str(WRK / script)]
    output = subprocess.run(
        command + [url], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    ).stdout
    latency = {
        pct: float(value) * UNIT[unit]
        for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": int(errors.group(1)) if errors else 0,
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
    }


def app_env(database_url: str) -> dict:
    return {
        "DATABASE_URL": database_url,
        "RATELIMIT_ENABLED": "0",
        "MAIL_IN_WEB": "0",
        "SECRET_KEY": BENCH_SECRET_KEY,
    }


def prepare_database(database_url: str) -> Path:
    """Migrate, add 10,000 confirmed and PENDING unconfirmed signatures, and write the
    pending ones' confirmation tokens to a file for wrk."""
    from bench_seed import seed_pending

    env = {**os.environ, **app_env(database_url), "PUBLIC_URL": "http://127.0.0.1"}
    env.pop("FLASK_DEBUG", None)
    for command in (["db", "upgrade"], ["campaign", "import", str(ROOT / "campaigns" / "demo.toml")]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    from seed import seed

    seed(database_url, 10_000)
    return seed_pending(database_url, PENDING, secret_key=BENCH_SECRET_KEY)


def visit(url: str) -> dict:
    """A real visit: the session cookie and form token wrk then reuses."""
    visitor = Visitor(url)
    token = visitor.token()
    cookie = "; ".join(f"{c.name}={c.value}" for c in visitor.session.cookies)
    return {"BENCH_COOKIE": cookie, "BENCH_TOKEN": token, "BENCH_THREADS": str(THREADS)}


def bench_http(database_url: str, rounds: int = 3) -> dict:
    """Every endpoint and the hello-world baseline, in turns, both servers up all along.

    Each figure is the best of `rounds`: this machine's other load comes and goes, and
    alternating keeps the baseline and the app under the same conditions.
    """
    tokens_file = prepare_database(database_url)
    # The baseline has no rate limits; said so, gunicorn.conf.py lets its workers start.
    hello = Gunicorn(
        free_port(), WORKERS, {"RATELIMIT_ENABLED": "0"}, app_spec="bench.hello:app", ready_path="/"
    )
    app = Gunicorn(free_port(), WORKERS, app_env(database_url))
    runs: dict[str, list[dict]] = {name: [] for name in ("hello", "page", "count", "sign", "confirm")}
    try:
        session = visit(app.url)
        for round_number in range(rounds):
            runs["hello"].append(run_wrk(hello.url + "/"))
            runs["page"].append(run_wrk(app.url + "/"))
            runs["count"].append(run_wrk(app.url + "/api/count"))
            runs["sign"].append(run_wrk(app.url, "sign.lua", session))
            runs["confirm"].append(
                run_wrk(
                    app.url,
                    "confirm.lua",
                    {
                        **session,
                        "BENCH_TOKENS_FILE": str(tokens_file),
                        "BENCH_OFFSET": str(round_number * PENDING // rounds),
                    },
                )
            )
    finally:
        app.stop()
        hello.stop()
    # Only once the server has finished its last requests: the count must equal the rows.
    engine = create_engine(database_url)
    with engine.connect() as connection:
        confirmed = connection.execute(
            text("SELECT count(*) FROM signatures WHERE confirmed_at IS NOT NULL")
        ).scalar()
        shards = connection.execute(text("SELECT sum(count) FROM count_shards")).scalar()
    engine.dispose()
    best = {name: max(results, key=lambda run: run["rps"]) for name, results in runs.items()}
    best["consistent"] = confirmed == shards
    return best
