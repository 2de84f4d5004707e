"""Gunicorn settings, read from the environment the way Procfile platforms set it."""

import os
import sys

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
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


def worker_exit(server, worker):
    """As a worker leaves (SIGTERM on every deploy), its mail deliverer finishes the message in
    hand and gives back the rest of its batch, so nothing waits out a lease."""
    mail = sys.modules.get("app.mail")  # not imported: this process never delivered mail
    if mail is not None:
        mail.stop_deliverers(timeout=worker.cfg.graceful_timeout)
