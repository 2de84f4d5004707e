"""The message catalogues: compiled at start-up when missing or stale, never silently absent.

Git ignores the compiled `.mo` files, and Flask-Babel quietly falls back to English when one
is missing, so a deploy that skipped `pybabel compile` would serve English to everyone.
"""

import os
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

FIX = (
    "Run `pybabel compile -d translations` in the app's folder as part of the deploy, "
    "or let the app write to that folder."
)


class CatalogueError(RuntimeError):
    """A language's catalogue is missing, unreadable or cannot be compiled."""


def ensure_catalogues(directory: Path, languages: Iterable[str]) -> None:
    """Compile each language's messages.po whose .mo is missing or older, then check every .mo loads."""
    for language in languages:
        source = directory / language / "LC_MESSAGES" / "messages.po"
        compiled = source.with_suffix(".mo")
        if source.exists() and _is_stale(source, compiled):
            compile_catalogue(source, compiled, language)
        elif not compiled.exists():
            raise CatalogueError(
                f"No {language} catalogue: {source} is missing, so every visitor would "
                "get English. Restore it from the repository."
            )
        _check_loads(compiled, language)


def compile_catalogue(source: Path, compiled: Path, language: str) -> None:
    """Write `compiled` from `source` as `pybabel compile` does, atomically.

    Several workers starting together may all compile: each writes its own temporary file and
    renames it into place, so a reader sees the old file or a whole new one, never half of one.
    """
    with source.open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    if catalogue.fuzzy:
        raise CatalogueError(
            f"{source} is marked fuzzy as a whole, so pybabel would not compile it: "
            "remove the `#, fuzzy` line from its header once it is translated."
        )
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=compiled.parent, prefix=".messages-", suffix=".mo", delete=False
        ) as handle:
            temporary = Path(handle.name)
            write_mo(handle, catalogue)
        temporary.chmod(0o644)  # web processes may run as another user than the release step
        os.replace(temporary, compiled)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise CatalogueError(
            f"The {language} catalogue {compiled} is missing or older than {source.name} "
            f"and cannot be written ({error.strerror}). {FIX}"
        ) from error


def _is_stale(source: Path, compiled: Path) -> bool:
    try:
        return compiled.stat().st_mtime_ns < source.stat().st_mtime_ns
    except FileNotFoundError:
        return True


def _check_loads(compiled: Path, language: str) -> None:
    try:
        with compiled.open("rb") as handle:
            Translations(handle)
    except (OSError, ValueError, struct.error) as error:
        raise CatalogueError(
            f"The {language} catalogue {compiled} cannot be read ({error}). {FIX}"
        ) from error
