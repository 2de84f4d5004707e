"""Gunicorn settings, read from the environment the way Procfile platforms set it."""

import ipaddress
import os
import sys
from urllib.parse import urlsplit


def behind_proxy() -> bool:
    """TRUSTED_PROXIES is set: a proxy stands in front (a bad value counts as set; the app refuses it)."""
    return os.environ.get("TRUSTED_PROXIES", "").strip() not in ("", "0")


def production() -> bool:
    """The app's own reading of FLASK_DEBUG: anything else is production."""
    return os.environ.get("FLASK_DEBUG", "").strip() not in {"1", "true", "True"}


# Listen on loopback unless told otherwise: behind a proxy on the same machine, whoever reached
# the port directly could forge the X-Forwarded-For the app trusts; without one, gunicorn must
# not face clients at all (see refuse_open_bind_without_proxy). HOST overrides it (a platform's
# router connects from outside; the Procfile sets HOST=0.0.0.0).
host = os.environ.get("HOST", "").strip() or "127.0.0.1"
bind = f"{host}:{os.environ.get('PORT', '8000')}"
# Two workers per core suits a 2-core box; WEB_CONCURRENCY is what Procfile platforms set.
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
# Threads let one worker wait on the database for one visitor while serving another.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Proxy headers are left to the app (ProxyFix with TRUSTED_PROXIES), so trust none here.
forwarded_allow_ips = ""
# No access log: request lines carry addresses and link tokens. Errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn's control socket sits at one path per user (~/.gunicorn/gunicorn.ctl), which every
# instance on the host would share; nothing here uses it.
control_socket_disable = True


def on_starting(server) -> None:
    """Gunicorn's start-up hook, in the master: refuse limits that would not hold; warn about open ports."""
    refuse_open_bind_without_proxy(server)
    check_rate_limit_store(server)
    warn_about_open_bind(server)


def refuse_open_bind_without_proxy(server) -> None:
    """In production, refuse to face clients directly: a dozen slow clients (slowloris), each
    sending its request a byte at a time, hold every gthread worker. A buffering proxy (nginx)
    reads whole requests first, so it must stand in front, and TRUSTED_PROXIES says it does."""
    if behind_proxy() or not production():
        return
    for address in server.cfg.address:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise RuntimeError(
                f"gunicorn would listen on {address[0] or '*'}:{address[1]} with no proxy in front "
                "(TRUSTED_PROXIES is unset), where slow clients can hold every worker. Put a "
                "buffering proxy such as nginx in front (see docs/deploy.md, nginx in front) and set "
                "TRUSTED_PROXIES=1 (a platform's router counts as one), or unset HOST to listen "
                "on 127.0.0.1 only."
            )


def check_rate_limit_store(server) -> None:
    """Refuse to start when the workers would each count the rate limits alone, or the store is down.

    Flask-Limiter's default memory:// store lives in each worker, so N workers would let every
    limit through N times. A RuntimeError here is what gunicorn prints as "Error: ..." and exits 1.
    """
    switch = os.environ.get("RATELIMIT_ENABLED", "").strip().lower()
    if switch and switch not in {"1", "true", "yes", "on"}:  # the app's own reading of the flag
        return
    uri = os.environ.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://"
    if uri.startswith("memory://"):
        workers = server.cfg.workers
        if workers > 1:
            raise RuntimeError(
                f"{workers} workers would each count the rate limits alone (RATELIMIT_STORAGE_URI is "
                f"memory://), so every limit would let {workers} times as many requests through. "
                "Set RATELIMIT_STORAGE_URI=redis://localhost:6379/0 (a Redis on this machine; the same "
                "Redis for every server), or run one worker with WEB_CONCURRENCY=1, or, for a benchmark "
                "only, RATELIMIT_ENABLED=0."
            )
        server.log.warning(
            "Rate limits are counted in this process's memory: they hold for this one "
            "worker only. Several servers need RATELIMIT_STORAGE_URI=redis://..."
        )
        return
    from limits.errors import ConfigurationError
    from limits.storage import storage_from_string

    options = {"socket_connect_timeout": 2, "socket_timeout": 2} if uri.startswith("redis") else {}
    try:
        answers = storage_from_string(uri, **options).check()
    except ConfigurationError as error:
        raise RuntimeError(
            f"RATELIMIT_STORAGE_URI={_without_password(uri)} is not a store Flask-Limiter can use: {error}"
        ) from None
    if not answers:
        raise RuntimeError(
            f"The rate limits' store at {_without_password(uri)} does not answer. Start it "
            "(for Redis: `redis-cli ping` should say PONG), or correct RATELIMIT_STORAGE_URI."
        )


def warn_about_open_bind(server) -> None:
    """Behind a proxy, say so when the port is open beyond loopback (allowed: platforms need it)."""
    if not behind_proxy():
        return
    for address in server.cfg.address:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            server.log.warning(
                "Listening on %s:%s with TRUSTED_PROXIES set: only the proxy must be able to reach this "
                "port (a platform's router, or a firewall), as whoever reaches it can forge "
                "X-Forwarded-For. Unset HOST to listen on 127.0.0.1.",
                address[0] or "*",
                address[1],
            )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _without_password(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def worker_exit(server, worker):
    """As a worker leaves (SIGTERM on every deploy), its mail deliverer finishes the message in
    hand and gives back the rest of its batch, so nothing waits out a lease."""
    jobs = sys.modules.get("app.jobs")  # not imported: this process never ran them
    if jobs is not None:
        jobs.stop_all(timeout=worker.cfg.graceful_timeout)
