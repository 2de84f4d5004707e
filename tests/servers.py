"""Real gunicorn servers for the concurrency tests, and visitors that use them as browsers do."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from conftest import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Gunicorn:
    """gunicorn with gunicorn.conf.py and production settings, on a free port, until stopped."""

    def __init__(
        self, port: int, workers: int, env: dict, app_spec: str = "wsgi:app", ready_path: str = "/healthz"
    ):
        self.url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        full_env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "SECRET_KEY": TEST_SECRET_KEY,
            "PUBLIC_URL": self.url,
            **env,
        }
        full_env.pop("FLASK_DEBUG", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", app_spec],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output, _ = self.process.communicate()  # and closes the pipe
                raise RuntimeError("gunicorn exited:\n" + output)
            try:
                if requests.get(self.url + self.ready_path, timeout=5).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # still booting
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {self.ready_path}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def worker_talking_to(self, port: int) -> int | None:
        """A worker with an open TCP connection to `port` on this host (its mail deliverer at work)."""
        inodes = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].split(":")[1], 16) == port and fields[3] == "01":  # 01: established
                inodes.add(f"socket:[{fields[9]}]")
        for pid in self.worker_pids():
            try:
                descriptors = {os.readlink(entry) for entry in Path(f"/proc/{pid}/fd").iterdir()}
            except OSError:
                continue  # it exited meanwhile
            if descriptors & inodes:
                return pid
        return None

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output


def start_mail_worker(
    database_url: str, smtp_port: int, public_url: str, poll: float = 0.1
) -> subprocess.Popen:
    """`flask --app wsgi mail worker` as its own process, with production settings, until stopped."""
    env = {
        **os.environ,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PUBLIC_URL": public_url,
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
    }
    env.pop("FLASK_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "worker", "--poll", str(poll)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class Visitor:
    """One person with their own cookies: reads the page's form token, then submits it."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.session = requests.Session()

    def token(self, path: str = "/") -> str:
        return CSRF.search(self.session.get(self.base + path, timeout=30).text).group(1)

    def post(self, path: str, data: dict, token_from: str = "/") -> requests.Response:
        data = {**data, "csrf_token": self.token(token_from)}
        return self.session.post(self.base + path, data=data, allow_redirects=False, timeout=30)

    def sign(self, email: str, **fields) -> requests.Response:
        return self.post(
            "/sign",
            {"name": "Parallel Person", "email": email, "postal_code": "K1A 0B1", "country": "CA", **fields},
        )
