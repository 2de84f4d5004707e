"""Screenshots of the campaign page at phone and desktop widths, in English and French.

`make screenshots` runs this: a throwaway SQLite database with the demo signatures, the
app on a free port, headless Debian Chromium, PNGs written to docs/screenshots/.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import DESKTOP, PHONE, LiveServer, start_browser  # noqa: E402
from helpers import free_port  # noqa: E402


def main() -> None:
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        env = {
            **os.environ,
            "FLASK_DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{workdir}/shots.db",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        for command in (["db", "upgrade"], ["demo", "seed"]):
            subprocess.run(
                [sys.executable, "-m", "flask", "--app", "wsgi", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        os.environ.update(env)
        from app import create_app

        server = LiveServer(create_app({"MAIL_IN_WEB": False}), port)
        try:
            for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
                for language in ("en", "fr"):
                    driver = start_browser(size=size, language=language)
                    try:
                        driver.get(f"{server.url}/?lang={language}")
                        path = out / f"campaign-{label}-{language}.png"
                        driver.save_screenshot(str(path))
                        print(f"wrote {path.relative_to(ROOT)}")
                    finally:
                        driver.quit()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
