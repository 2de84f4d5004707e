"""Check the system packages that `make run` or `make test` needs before anything is installed.

Run by the Makefile with the system's Python: `python3 tools/prerequisites.py run|test|venv`. When
something is missing it names it and prints the README's one `apt-get install` line (the line
.ci/run installs), then exits 1, instead of a traceback halfway through the install.
"""

import ctypes.util
import importlib.util
import re
import shutil
import socket
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
# The one line that ends with this comment (docs/deploy.md's plain-server deploy has a shorter one).
APT_LINE = re.compile(r"^(sudo )?apt-get install .*# everything the app and its tests need$", re.MULTILINE)


def apt_line() -> str:
    """The README's command that installs every system package the app and the suite need."""
    return APT_LINE.search(README.read_text(encoding="utf-8")).group(0)


def venv() -> str | None:
    """Python's venv and pip, which `make` uses to build .venv. What is missing, or None."""
    if importlib.util.find_spec("ensurepip") is not None:
        return None
    return "Python's venv with pip (python3-venv), which makes the project's .venv"


def pango() -> str | None:
    """Pango and its FreeType backend, which WeasyPrint loads. What is missing, or None."""
    if ctypes.util.find_library("pango-1.0") and ctypes.util.find_library("pangoft2-1.0"):
        return None
    return "Pango (libpango-1.0-0, libpangoft2-1.0-0), which draws the open letter's PDF"


def pdf_reader() -> str | None:
    """poppler's tools, which the PDF tests read and draw the letter with. What is missing, or None."""
    if shutil.which("pdftotext") and shutil.which("pdftoppm"):
        return None
    return "poppler's pdftotext and pdftoppm (poppler-utils), which the PDF tests read the letter with"


def redis() -> str | None:
    """redis-server, or a Redis already answering on 127.0.0.1:6379. What is missing, or None."""
    if shutil.which("redis-server"):
        return None  # the suite starts its own when none answers on 127.0.0.1:6379
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return "Redis (redis-server), which the tests of limits across workers talk to"
    return None


CHECKS = {"venv": (venv,), "run": (venv, pango), "test": (venv, pango, pdf_reader, redis)}


def main(purpose: str) -> int:
    """Print what `make <purpose>` lacks and the line that installs it; 1 if anything is missing."""
    missing = [problem for check in CHECKS[purpose] if (problem := check())]
    if not missing:
        return 0
    print("Some system packages are missing:", file=sys.stderr)
    for problem in missing:
        print(f"  - {problem}", file=sys.stderr)
    print(f"On Debian or Ubuntu, install everything with:\n\n  {apt_line()}\n", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
