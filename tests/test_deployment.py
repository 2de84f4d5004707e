"""The deployment files run as written: every Procfile step names a real command, the deployment
guide's plain-server deploy (docs/deploy.md) serves both languages from a fresh clone, its nginx
sample is valid, and gunicorn starts only with limits that hold."""

import os
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from helpers import TEST_SECRET_KEY, free_port
from servers import Gunicorn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEPLOY_GUIDE = ROOT / "docs" / "deploy.md"


def procfile() -> dict[str, list[tuple[dict, list[str]]]]:
    """Each process's steps: the variables its shell sets, and the command's words."""
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        steps = []
        for step in command.split("&&"):
            words = shlex.split(step)
            assignments = {}
            while words and "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
                variable, _, value = words.pop(0).partition("=")
                assignments[variable] = value
            steps.append((assignments, words))
        processes[name.strip()] = steps
    return processes


def test_procfile_has_release_web_and_worker_as_the_contract_says():
    processes = procfile()
    assert set(processes) == {"release", "web", "worker"}
    assert processes["release"][-1] == ({}, ["flask", "--app", "wsgi", "db", "upgrade"])
    # A platform's router connects from outside: the web process listens on every interface.
    assert processes["web"][-1][0] == {"HOST": "0.0.0.0"}
    assert processes["web"][-1][1][0] == "gunicorn"
    assert processes["worker"][-1] == ({}, ["flask", "--app", "wsgi", "mail", "worker"])


def test_every_procfile_step_is_a_command_that_accepts_its_arguments(tmp_path):
    clone = fresh_clone(tmp_path)
    environment = {"SECRET_KEY": TEST_SECRET_KEY, "PUBLIC_URL": "https://x.test", "PATH": str(BIN)}
    for name, steps in procfile().items():
        for assignments, (program, *arguments) in steps:
            if program == "gunicorn":
                command = [BIN / "gunicorn", "--check-config", *arguments]
            else:
                command = [BIN / program, *arguments, "--help"]
            result = subprocess.run(
                command, cwd=clone, capture_output=True, text=True, env={**environment, **assignments}
            )
            assert result.returncode == 0, f"{program} {' '.join(arguments)}:\n{result.stderr}"
            # Each process loads the app, which compiles the catalogue a fresh clone lacks.
            compiled = clone / "translations" / "fr" / "LC_MESSAGES" / "messages.mo"
            assert compiled.exists(), name
            compiled.unlink()


# --- the deployment guide's plain-server deploy, as written, from a fresh clone ---------------------


def deploy_guide_block(heading: str, language: str) -> str:
    """The first ```language block under this heading of docs/deploy.md, as an operator copies it."""
    guide = DEPLOY_GUIDE.read_text()
    section = guide.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def plain_server_steps() -> list[str]:
    """The shell lines of the guide's plain-server block, continuation lines joined."""
    block = deploy_guide_block("On a plain server", "sh")
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def fresh_clone(destination: Path) -> Path:
    """The tracked files as they are in the work tree: what `git clone` gives (no .mo, no instance/)."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    assert not list(destination.rglob("*.mo")), "catalogues are not tracked"
    return destination


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("gunicorn exited:\n" + log.read_text())
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # still booting
        time.sleep(0.2)
    raise AssertionError("gunicorn never answered:\n" + log.read_text())


def test_the_deploy_guides_plain_server_steps_serve_french_from_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    port = free_port()
    environment = {"PATH": f"{BIN}:{os.defpath}", "HOME": str(tmp_path)}
    # Stand-ins for what the guide leaves to the reader, and no traffic beyond this machine:
    # SQLite in the clone, no mail server listening on a loopback port, a free port.
    standing_in = {
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{clone / 'petition.db'}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(free_port()),
        "PORT": str(port),
    }
    server = None
    log = tmp_path / "gunicorn.log"
    try:
        for line in plain_server_steps():
            for step in " ".join(shlex.split(line, comments=True)).split(" && "):
                words = shlex.split(step)
                if not words:
                    continue  # a comment line
                if words[0] == "sudo":
                    words = words[1:]
                if words[:2] == ["apt-get", "install"]:
                    assert "redis-server" in words, step  # Redis answers here already (.ci/run starts it)
                elif words[:3] == ["python3", "-m", "venv"] or words[0] in (".", "source"):
                    pass  # the test's own virtualenv stands in for a new one
                elif Path(words[0]).name == "pip":
                    assert words[1:] == ["install", "-r", "requirements.txt"], step
                elif words[0] == "export":
                    for assignment in words[1:]:
                        name, equals, value = assignment.partition("=")
                        if equals:
                            environment[name] = value
                    environment.update(standing_in)
                elif words[0] == "flask":
                    result = subprocess.run(
                        [BIN / "flask", *words[1:]],
                        cwd=clone,
                        env=environment,
                        capture_output=True,
                        text=True,
                        timeout=120,
                    )
                    assert result.returncode == 0, f"{step}:\n{result.stderr}"
                elif words[0] == "gunicorn":
                    with log.open("w") as output:
                        server = subprocess.Popen(
                            [BIN / "gunicorn", *words[1:]],
                            cwd=clone,
                            env=environment,
                            stdout=output,
                            stderr=subprocess.STDOUT,
                        )
                else:
                    pytest.fail(f"the test does not know this step of the guide: {step}")
        assert environment.get("TRUSTED_PROXIES") == "1" and server is not None
        url = f"http://127.0.0.1:{port}"
        wait_for(url + "/healthz", server, log)

        page = requests.get(url + "/?lang=fr", timeout=10).text
        assert '<html lang="fr">' in page
        assert "Qui a signé" in page and "Signer la pétition" in page, "the French catalogue is served"
        assert (clone / "translations" / "fr" / "LC_MESSAGES" / "messages.mo").exists()

        # Behind the proxy the guide describes: headers that name another host or prefix change
        # nothing (a new ?source= makes the page render afresh for this very request).
        poisoned = requests.get(
            url + "/?source=poisoned",
            timeout=10,
            headers={
                "Host": "evil.example",
                "X-Forwarded-Host": "evil.example",
                "X-Forwarded-Prefix": "//evil.example",
                "X-Forwarded-Port": "6666",
                "SCRIPT_NAME": "/evil",
            },
        ).text
        assert "evil" not in poisoned and 'src="/static/counter.js"' in poisoned
        slash = requests.get(
            url + "/admin", headers={"Host": "evil.example"}, allow_redirects=False, timeout=10
        )
        assert slash.headers["Location"] == "/admin/"
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    output = log.read_text()
    assert f"Listening at: http://127.0.0.1:{port}" in output, "behind a proxy it listens on loopback only"
    assert "Traceback" not in output, output


# --- gunicorn.conf.py: the bind address and the rate limits' store ------------------------------------


def gunicorn_settings(monkeypatch, **environment) -> dict:
    """What gunicorn.conf.py sets for this environment."""
    for name in ("HOST", "PORT", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_listens_on_loopback_only_behind_a_proxy_unless_told_otherwise(monkeypatch):
    assert gunicorn_settings(monkeypatch)["bind"] == "127.0.0.1:8000"
    assert gunicorn_settings(monkeypatch, TRUSTED_PROXIES="1")["bind"] == "127.0.0.1:8000"
    assert gunicorn_settings(monkeypatch, TRUSTED_PROXIES="2", PORT="9000")["bind"] == "127.0.0.1:9000"
    assert gunicorn_settings(monkeypatch, TRUSTED_PROXIES="1", HOST="0.0.0.0")["bind"] == "0.0.0.0:8000"


def start_gunicorn(tmp_path, workers: int, **environment) -> tuple[Gunicorn | None, str]:
    """A gunicorn with these settings: the running server, or None and what it said when it refused."""
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'petition.db'}",
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_STORAGE_URI": "",
        "MAIL_IN_WEB": "0",
        "TRUSTED_PROXIES": "0",
        **environment,
    }
    try:
        return Gunicorn(free_port(), workers, settings), ""
    except RuntimeError as refusal:
        return None, str(refusal)


def test_several_workers_counting_limits_each_in_memory_refuse_to_start_and_say_why(tmp_path):
    server, refusal = start_gunicorn(tmp_path, 2)
    if server is not None:
        server.stop()
        pytest.fail("gunicorn started 2 workers that would each count the limits alone")
    assert "each count" in refusal
    for way_out in ("RATELIMIT_STORAGE_URI=redis://", "WEB_CONCURRENCY=1", "RATELIMIT_ENABLED=0"):
        assert way_out in refusal


def test_a_limits_store_that_does_not_answer_stops_start_up(tmp_path):
    server, refusal = start_gunicorn(tmp_path, 2, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    if server is not None:
        server.stop()
        pytest.fail("gunicorn started with a Redis that does not answer")
    assert "redis://127.0.0.1:1/0 does not answer" in refusal


def test_one_worker_counting_in_memory_starts_and_warns_that_limits_are_per_process(tmp_path):
    server, refusal = start_gunicorn(tmp_path, 1)
    assert server is not None, refusal
    output = server.stop()
    assert "limits are counted in this process's memory" in output


def test_listening_beyond_loopback_behind_a_proxy_is_allowed_with_a_warning(tmp_path):
    server, refusal = start_gunicorn(tmp_path, 1, HOST="0.0.0.0", TRUSTED_PROXIES="1")
    assert server is not None, refusal
    output = server.stop()
    assert "only the proxy must be able to reach" in output


def test_facing_clients_without_a_proxy_is_refused_in_production_naming_the_fix(tmp_path):
    """Twelve slow clients made an instance unresponsive when it faced them directly."""
    server, refusal = start_gunicorn(tmp_path, 1, HOST="0.0.0.0")
    if server is not None:
        server.stop()
        pytest.fail("gunicorn listened on every interface without a proxy in front")
    for fix in ("nginx", "TRUSTED_PROXIES=1", "unset HOST"):
        assert fix in refusal, refusal


def test_gunicorn_makes_no_control_socket_that_instances_on_one_host_would_share(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    server, refusal = start_gunicorn(tmp_path, 1, HOME=str(home))
    assert server is not None, refusal
    try:
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        assert not (home / ".gunicorn").exists()
    finally:
        server.stop()


def nginx_sample() -> str:
    """The guide's nginx sample, as an operator copies it."""
    return deploy_guide_block("nginx in front", "nginx")


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_the_deploy_guides_nginx_sample_is_valid_and_logs_no_query_string_token_or_address(tmp_path):
    """nginx's default format logged /confirm/<token>, /manage/<token>, ?email= and ?postal_code=."""
    port, backend = free_port(), free_port()  # nothing listens on the backend: a 502 is logged too
    sample = (
        nginx_sample()
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port};")  # no certificate here
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace("/var/cache/nginx/", f"{tmp_path}/")
        .replace("http://127.0.0.1:8000", f"http://127.0.0.1:{backend}")
    )
    assert "log_format petition" in sample and "access_log" in sample
    assert "$request " not in sample and '$request_uri"' not in sample and "$remote_addr [" not in sample
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{sample}\n}}\n"
    )
    temp = [
        f"{name}_temp_path {tmp_path}/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    ]
    config.write_text(config.read_text().replace("http {\n", "http {\n" + "\n".join(temp) + "\n", 1))
    checked = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(
        ["nginx", "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"], stderr=subprocess.DEVNULL
    )
    try:
        paths = [
            "/confirm/Mw.axBU7g.uFC-dT5P3puV_s30sssob6rKJkg",
            "/campagne/manage/Mw.axBU7g.6uxmtquvs-HV6taHr2iE/unsubscribe",
            "/not-me/Mw.secret-withdraw-token",
            "/admin/signers?email=ana%40example.ca",
            "/write?postal_code=K1A+0B1",
        ]
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "nginx did not start"
                time.sleep(0.1)
        for path in paths:
            requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=10)
    log = (tmp_path / "petition.log").read_text()
    for secret in ("Mw.", "axBU7g", "secret-withdraw", "email=", "example.ca", "K1A", "postal", "127.0.0.1"):
        assert secret not in log, (secret, log)
    for logged in (
        '"GET /confirm/<token>"',
        '"GET /campagne/manage/<token>/unsubscribe"',
        '"GET /not-me/<token>"',
        '"GET /admin/signers"',
        '"GET /write"',
    ):
        assert logged in log, (logged, log)
