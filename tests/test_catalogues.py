"""The message catalogues: compiled at start-up when missing or stale, never silently absent."""

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.catalogues import CatalogueError, ensure_catalogues

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SOURCE = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


@pytest.fixture
def translations(tmp_path) -> Path:
    """A copy of the translations folder as a fresh clone has it: .po files, no .mo."""
    folder = tmp_path / "translations"
    (folder / "fr" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(SOURCE, folder / "fr" / "LC_MESSAGES" / "messages.po")
    return folder


def french(folder: Path) -> gettext.GNUTranslations:
    with (folder / "fr" / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        return gettext.GNUTranslations(handle)


def test_a_missing_catalogue_is_compiled_as_pybabel_would(translations, tmp_path):
    ensure_catalogues(translations, ["fr"])
    assert french(translations).gettext("Who has signed") == "Qui a signé"
    by_pybabel = tmp_path / "by-pybabel"
    shutil.copytree(translations / "fr", by_pybabel / "fr", ignore=shutil.ignore_patterns("*.mo"))
    subprocess.run([BIN / "pybabel", "-q", "compile", "-d", str(by_pybabel)], check=True)
    compiled = translations / "fr" / "LC_MESSAGES" / "messages.mo"
    assert compiled.read_bytes() == (by_pybabel / "fr" / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert compiled.stat().st_mode & 0o777 == 0o644, "readable by a web server running as another user"
    assert sorted(path.name for path in compiled.parent.iterdir()) == ["messages.mo", "messages.po"]


def test_a_stale_catalogue_is_compiled_again_and_a_current_one_left_alone(translations):
    ensure_catalogues(translations, ["fr"])
    compiled = translations / "fr" / "LC_MESSAGES" / "messages.mo"
    before = compiled.stat().st_mtime_ns
    ensure_catalogues(translations, ["fr"])
    assert compiled.stat().st_mtime_ns == before, "an up-to-date catalogue is not rewritten"

    source = translations / "fr" / "LC_MESSAGES" / "messages.po"
    source.write_text(source.read_text().replace('msgstr "Qui a signé"', 'msgstr "Les signataires"'))
    later = before + 5_000_000_000
    os.utime(source, ns=(later, later))
    ensure_catalogues(translations, ["fr"])
    assert french(translations).gettext("Who has signed") == "Les signataires"


def test_a_catalogue_that_cannot_be_written_stops_start_up_and_names_the_fix(translations):
    # Root may write anywhere, so a directory in the file's place stands in for a read-only tree.
    (translations / "fr" / "LC_MESSAGES" / "messages.mo").mkdir()
    os.utime(translations / "fr" / "LC_MESSAGES" / "messages.mo", ns=(0, 0))
    with pytest.raises(CatalogueError, match=r"pybabel compile -d translations"):
        ensure_catalogues(translations, ["fr"])
    leftovers = [path.name for path in (translations / "fr" / "LC_MESSAGES").iterdir()]
    assert sorted(leftovers) == ["messages.mo", "messages.po"], "no temporary file is left behind"


def test_a_missing_or_broken_catalogue_is_never_silent(translations):
    with pytest.raises(CatalogueError, match="de"):
        ensure_catalogues(translations, ["fr", "de"])
    compiled = translations / "fr" / "LC_MESSAGES" / "messages.mo"
    compiled.write_bytes(b"not a catalogue")
    with pytest.raises(CatalogueError, match="messages.mo"):
        ensure_catalogues(translations, ["fr"])


RACER = """
import os, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from app.catalogues import ensure_catalogues
folder = Path({folder!r})
source = folder / "fr" / "LC_MESSAGES" / "messages.po"
for _ in range(40):
    os.utime(source)  # stale again: every process keeps compiling while the others read
    ensure_catalogues(folder, ["fr"])
"""


def test_workers_starting_together_compile_without_ever_reading_half_a_catalogue(translations):
    code = RACER.format(root=str(ROOT), folder=str(translations))
    racers = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    failures = [
        error for racer in racers for error in [racer.communicate(timeout=120)[1]] if racer.returncode
    ]
    assert failures == []
    assert french(translations).gettext("Who has signed") == "Qui a signé"
    assert sorted(path.name for path in (translations / "fr" / "LC_MESSAGES").iterdir()) == [
        "messages.mo",
        "messages.po",
    ]
