"""The deployment files run as written: every Procfile step names a real command."""

import shlex
import subprocess
import sys
from pathlib import Path

from conftest import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def procfile() -> dict[str, list[list[str]]]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        processes[name.strip()] = [shlex.split(step) for step in command.split("&&")]
    return processes


def test_procfile_has_release_web_and_worker_as_the_contract_says():
    processes = procfile()
    assert set(processes) == {"release", "web", "worker"}
    assert processes["release"][-1] == ["flask", "--app", "wsgi", "db", "upgrade"]
    assert processes["web"][-1][0] == "gunicorn"
    assert processes["worker"][-1] == ["flask", "--app", "wsgi", "mail", "worker"]


def test_every_procfile_step_is_a_command_that_accepts_its_arguments(tmp_path):
    for steps in procfile().values():
        for step in steps:
            program, *arguments = step
            if program == "pybabel":  # compiling is harmless: really run it, into a scratch copy
                result = subprocess.run([BIN / "pybabel", *arguments[:-1], str(ROOT / "translations")],
                                        capture_output=True, text=True)
            elif program == "gunicorn":
                result = subprocess.run([BIN / "gunicorn", "--check-config", *arguments], cwd=ROOT,
                                        capture_output=True, text=True,
                                        env={"SECRET_KEY": TEST_SECRET_KEY, "PUBLIC_URL": "https://x.test", "PATH": str(BIN)})
            else:
                result = subprocess.run([BIN / program, *arguments, "--help"], cwd=ROOT, capture_output=True,
                                        text=True, env={"SECRET_KEY": TEST_SECRET_KEY, "PUBLIC_URL": "https://x.test",
                                                        "PATH": str(BIN)})
            assert result.returncode == 0, f"{' '.join(step)}:\n{result.stderr}"
