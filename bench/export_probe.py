"""Run one CSV export in this process and print its timings and memory growth as JSON.

Started by bench/run.py with DATABASE_URL pointing at a filled database; the app is
built and warmed first, so the growth measured is the export's own.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app  # noqa: E402
from app.export import CsvExport, parse_filters  # noqa: E402
from app.extensions import db  # noqa: E402


def memory_kib(field: str) -> int:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> None:
    """Start VmHWM again from the current size, so start-up's own peak does not hide growth."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def main() -> None:
    app = create_app()
    status = sys.argv[1] if len(sys.argv) > 1 else "all"
    with app.app_context():
        db.session.execute(db.text("SELECT 1"))
        before = memory_kib("VmRSS")
        reset_peak()
        started = time.perf_counter()
        first_byte = None
        size = 0
        export = CsvExport(parse_filters({"status": status}))
        with open(os.devnull, "wb") as sink:
            for chunk in export:
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                data = chunk.encode("utf-8")
                size += len(data)
                sink.write(data)
        total = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": export.rows,
                "bytes": size,
                "seconds": total,
                "first_byte_seconds": first_byte,
                "peak_growth_mib": (memory_kib("VmHWM") - before) / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
