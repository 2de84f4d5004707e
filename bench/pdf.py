"""One build of the open letter's PDF as the background builder makes it: the page rendered in
this process, then WeasyPrint in a child process (`app/pdf_child.py`).

Usage: bench/pdf.py COUNT [one-column|two-columns] [typical|maxima] [MEMORY_MB]. Prints one JSON line: the
CPU seconds of each side, the child's peak memory, the PDF's size and pages. Run once per
build in a fresh process (bench/run.py does), so the peak is this build's own. `two-columns`
is the layout before issue 19, measured as the baseline in the same run.
"""

import datetime as dt
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from app import create_app, letter_fonts, letter_pdf, pdf_child  # noqa: E402
from app.campaign import current_campaign  # noqa: E402
from app.forms import NAME_MAX  # noqa: E402
from app.kinds.open_letter.form import ORGANIZATION_MAX, TITLE_MAX  # noqa: E402


def signatories(count: int, size: str) -> tuple[list, list]:
    """One organization for every four individuals; fictional names, typical or at the maxima."""
    if size == "maxima":
        organizations = [
            (f"{n} " + "Organisation " * (ORGANIZATION_MAX // 13), "") for n in range(count // 5)
        ]
        individuals = [
            (
                f"{n} " + "Name " * (NAME_MAX // 5 - 1),
                "Title " * (TITLE_MAX // 6),
                "Group " * (ORGANIZATION_MAX // 6),
            )
            for n in range(count - count // 5)
        ]
        return [(name[:ORGANIZATION_MAX], site) for name, site in organizations], [
            (name[:NAME_MAX], title[:TITLE_MAX], group[:ORGANIZATION_MAX])
            for name, title, group in individuals
        ]
    organizations = [
        (f"Association number {n} for civil liberties", f"https://org{n}.example.ca")
        for n in range(count // 5)
    ]
    individuals = [
        (
            f"Person {n} Lévesque",
            "Professor of law" if n % 2 else "",
            f"University of Example {n % 7}" if n % 3 else "",
        )
        for n in range(count - count // 5)
    ]
    return organizations, individuals


def main() -> None:
    count = int(sys.argv[1])
    layout = sys.argv[2] if len(sys.argv) > 2 else "one-column"
    size = sys.argv[3] if len(sys.argv) > 3 else "typical"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-production",
            "PUBLIC_URL": "http://127.0.0.1:8000",
            "CAMPAIGN_FILE": str(ROOT / "campaigns" / "open-letter.toml"),
        }
    )
    with app.test_request_context():
        campaign = current_campaign()
        organizations, individuals = signatories(count, size)
        started = time.process_time()
        html, stylesheets = letter_pdf.pdf_sources(
            campaign.in_language("en"),
            organizations,
            individuals,
            "en",
            campaign.settings.date(),
            listed_at=dt.datetime.now(dt.UTC),
        )
        render_cpu = time.process_time() - started
    if layout == "two-columns":
        stylesheets = (*stylesheets[:-1], stylesheets[-1].replace(letter_pdf.PDF_ONLY_CSS, ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    child = subprocess.run(
        [sys.executable, pdf_child.__file__, sys.argv[4] if len(sys.argv) > 4 else "4096"],
        input=json.dumps(
            {"html": html, "stylesheets": list(stylesheets), "fonts": list(letter_fonts.font_files())}
        ).encode(),
        capture_output=True,
        cwd=ROOT,
        check=True,
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    pdf = child.stdout
    print(
        json.dumps(
            {
                "signatories": count,
                "layout": layout,
                "size": size,
                "render_cpu": round(render_cpu, 3),
                "child_cpu": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 3),
                "child_wall": round(wall, 3),
                "child_peak_mb": round(after.ru_maxrss / 1024),
                "bytes": len(pdf),
                "pages": len(PdfReader(io.BytesIO(pdf)).pages),
            }
        )
    )


if __name__ == "__main__":
    main()
