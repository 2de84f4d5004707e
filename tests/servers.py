"""Real servers for the tests: an SMTP server that keeps what it receives, gunicorn and the mail
worker as their own processes, and visitors that use gunicorn as browsers do."""

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import requests
from aiosmtpd.controller import Controller

from helpers import CSRF, TEST_SECRET_KEY, free_port

ROOT = Path(__file__).resolve().parent.parent


class Sink:
    """An aiosmtpd handler that keeps what it receives; `reply` makes it refuse every message,
    `refuse` ({address: reply}) refuses one recipient, `delay` makes it slow to answer DATA."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        # Each accepted message's envelope recipients (RCPT TO), in the order of `messages`.
        self.recipients: list[list[str]] = []
        # The name each message's sender greeted the server with (EHLO or HELO).
        self.greetings: list[str] = []
        # Each message's MAIL FROM options (BODY=8BITMIME, SMTPUTF8) and its bytes as received.
        self.mail_options: list[list[str]] = []
        self.raw: list[bytes] = []
        self.reply: str | None = None
        self.refuse: dict[str, str] = {}
        self.delay = 0.0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.recipients.clear()
            self.greetings.clear()
            self.mail_options.clear()
            self.raw.clear()
        self.reply, self.refuse, self.delay = None, {}, 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply:
            return self.reply
        with self._lock:
            self.messages.append(message_from_bytes(envelope.original_content, policy=default_policy))
            self.recipients.append(list(envelope.rcpt_tos))
            self.greetings.append(session.host_name)
            self.mail_options.append(list(envelope.mail_options))
            self.raw.append(envelope.original_content)
        return "250 Message accepted"

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)


class SMTPServer:
    """A real SMTP server on a free port that can be stopped and started again; with
    `smtputf8=False` it is a relay that cannot take non-ASCII addresses, with
    `eightbitmime=False` one that takes 7-bit bodies only. `starttls` (an SSL context) makes
    it offer STARTTLS and require it; `implicit_tls`, speak TLS from the first byte."""

    def __init__(self, smtputf8: bool = True, eightbitmime: bool = True, starttls=None, implicit_tls=None):
        self.sink = Sink()
        self.port = free_port()
        self.options = {"enable_SMTPUTF8": smtputf8, "decode_data": not eightbitmime}
        if starttls is not None:
            self.options.update(tls_context=starttls, require_starttls=True)
        if implicit_tls is not None:
            self.options.update(ssl_context=implicit_tls)
        self.start()

    def stop(self):
        self.controller.stop()

    def start(self):
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.sink.received()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Poll until `count` messages have arrived (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages
            if len(messages) >= count:
                return messages
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


class CertificateAuthority:
    """A throwaway certificate authority made with the openssl command, and server certificates
    it signs, for TLS servers in the tests (valid from now, for a month)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.certificate = folder / "ca.pem"
        self._openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", self.certificate.name, "-days", "30", "-subj", "/CN=Test relay CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip

    def _openssl(self, *arguments: str) -> None:
        subprocess.run(["openssl", *arguments], cwd=self.folder, check=True, capture_output=True)

    def server_context(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context with a certificate for `host` (an IP address or a DNS name)."""
        name = host.replace(":", "_")
        kind = "IP" if host.replace(".", "").isdigit() else "DNS"
        (self.folder / f"{name}.ext").write_text(
            f"subjectAltName={kind}:{host}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        self._openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={host}",
        )  # fmt: skip
        self._openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", self.certificate.name, "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.folder / f"{name}.pem", self.folder / f"{name}.key")
        return context


class RedisServer:
    """A throwaway redis-server on a free port, keeping nothing on disk, for machines whose own
    Redis is not running (a fresh container); stopped at the end of the run."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
            + ["--save", "", "--appendonly", "no"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


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
