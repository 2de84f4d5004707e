"""The open letter's PDF: built in the background once per list version, for every worker and
instance, and never while a request waits.

`/letter.pdf` serves the last PDF built in its language, from the database (models.LetterPdf),
where every instance reads it; a process keeps the one it last read, and asks the database
only when it was built. Each deliverer (a web process's, or `mail worker`) looks every few
seconds whether a language's PDF is behind the list (pdf_due). One of them, on any instance,
takes a lease on it and builds it in a child process at low priority
(`app/pdf_child.py`), so no web worker's threads wait behind WeasyPrint, with a bound on its time
and memory.

Builds are debounced: a PDF behind the list waits until the list has been still for
LETTER_PDF_QUIET seconds, but never more than LETTER_PDF_MAX_STALE seconds after it was built.
Meanwhile the last one is served; it prints when its list was taken.

A name that leaves the list (erased, hidden, rejected, anonymised) leaves the PDFs at once:
counter.add_to_count drops them in the same transaction, and until the next build
`/letter.pdf` answers 503 "being prepared", pointing to the printable page.
"""

import datetime as dt
import hashlib
import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select, update

from ... import letter_fonts, letter_pdf, pdf_child
from ...campaign import current_campaign
from ...clock import utcnow
from ...counter import current_tally
from ...database import insert_ignoring_duplicates, write_transaction
from ...extensions import db
from ...models import LetterPdf
from .listing import listed_signatories

log = logging.getLogger(__name__)
RETRY_AFTER_FAILURE = dt.timedelta(minutes=1)


def pdf_version(language: str) -> str:
    """Names what a PDF in `language` is built from: the list's version, the letter's date, and
    the campaign's text (a new campaign file means a new PDF)."""
    from . import KIND  # the package, loaded by now: it imports this module only when used

    content = repr(current_campaign().in_language(language)).encode()
    text = hashlib.blake2b(content, digest_size=8).hexdigest()
    return f"{language}:{KIND.listing_version()}:{text}"[:200]


def letter_parts(language: str) -> tuple:
    """What the renderer takes: the content, the two lists, the language and the letter's date."""
    campaign = current_campaign()
    organizations, individuals = listed_signatories()
    return campaign.in_language(language), organizations, individuals, language, campaign.settings.date()


# --- serving --------------------------------------------------------------------------------


def _this_pdf(language: str):
    """The SQL condition of the current campaign's PDF in `language`."""
    return (LetterPdf.campaign_id == current_campaign().id) & (LetterPdf.language == language)


_kept_lock = threading.Lock()


def build_problem(language: str) -> str | None:
    """Why the last build in `language` failed, if it did."""
    return db.session.scalar(select(LetterPdf.last_error).where(_this_pdf(language)))


def stored_pdf(language: str) -> tuple[bytes, dt.datetime] | None:
    """The last PDF built in `language` and when, or None while there is none to serve."""
    built_at = db.session.scalar(
        select(LetterPdf.built_at).where(_this_pdf(language), LetterPdf.pdf.is_not(None))
    )
    if built_at is None:
        return None
    kept = current_app.extensions.setdefault("letter_pdfs", {})
    key = (current_campaign().id, language)
    with _kept_lock:
        if key in kept and kept[key][1] == built_at:
            return kept[key]
    pdf = db.session.scalar(select(LetterPdf.pdf).where(_this_pdf(language), LetterPdf.built_at == built_at))
    if pdf is None:  # dropped or rebuilt since the first read
        return None
    with _kept_lock:
        kept[key] = (pdf, built_at)
    return pdf, built_at


# --- building -------------------------------------------------------------------------------


def pdf_due(language: str, now: dt.datetime) -> bool:
    """The PDF in `language` is missing, or behind the list and due by the debounce rules."""
    row = db.session.execute(  # never the PDF itself: this runs every few seconds
        select(LetterPdf.version, LetterPdf.built_at, LetterPdf.pdf.is_(None).label("missing")).where(
            _this_pdf(language)
        )
    ).first()
    if row is None or row.missing or row.built_at is None:
        return True
    if row.version == pdf_version(language):
        return False
    config = current_app.config
    still_for = now - current_tally().updated_at
    return still_for >= dt.timedelta(
        seconds=config["LETTER_PDF_QUIET"]
    ) or now - row.built_at >= dt.timedelta(seconds=config["LETTER_PDF_MAX_STALE"])


def _take_lease(language: str, now: dt.datetime) -> dt.datetime | None:
    """Become the one builder of `language`'s PDF until the lease returned, or None if another has it."""
    lease = now + dt.timedelta(seconds=current_app.config["LETTER_PDF_BUILD_TIMEOUT"] + 60)
    with write_transaction():
        db.session.execute(
            insert_ignoring_duplicates(LetterPdf),
            {"campaign_id": current_campaign().id, "language": language, "version": ""},
        )
        taken = db.session.scalar(
            update(LetterPdf)
            .where(
                _this_pdf(language),
                or_(LetterPdf.building_until.is_(None), LetterPdf.building_until < now),
            )
            .values(building_until=lease)
            .returning(LetterPdf.language)
            .execution_options(synchronize_session=False)
        )
    return lease if taken else None


def _in_child(sources: tuple[str, tuple[str, ...]]) -> bytes:
    """Run WeasyPrint in a child process, bounded in time and memory; its PDF."""
    config = current_app.config
    html, stylesheets = sources
    # The child bounds its own memory (no preexec_fn: unsafe in a process with threads).
    child = subprocess.Popen(
        [sys.executable, pdf_child.__file__, str(config["LETTER_PDF_MEMORY_MB"])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(current_app.root_path).parent,
    )
    with _children_lock:
        _children.add(child)
    try:
        fonts = list(letter_fonts.font_files())
        sources_json = json.dumps({"html": html, "stylesheets": list(stylesheets), "fonts": fonts}).encode()
        pdf, errors = child.communicate(sources_json, timeout=config["LETTER_PDF_BUILD_TIMEOUT"])
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise RuntimeError("the PDF build ran past LETTER_PDF_BUILD_TIMEOUT") from None
    finally:
        with _children_lock:
            _children.discard(child)
    if child.returncode != 0 or not pdf.startswith(b"%PDF-"):
        # The child's last line says why (never a signatory's name: WeasyPrint's warnings are off).
        reason = (errors.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the PDF build ended with code {child.returncode}: {reason[:120]}")
    return pdf


_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()


def stop_builds() -> None:
    """Stop this process's PDF builds (its deliverer is stopping): no child outlives it. Their
    leases run out a minute later (build_pdf records the failure), and another builder goes on."""
    with _children_lock:
        running = list(_children)
    for child in running:
        child.kill()


def build_pdf(language: str, now: dt.datetime | None = None) -> bool:
    """Build and store the PDF in `language` if no other builder is on it; whether it did."""
    now = now or utcnow()
    lease = _take_lease(language, now)
    if lease is None:
        return False
    held = _this_pdf(language) & (LetterPdf.building_until == lease)
    try:
        version = pdf_version(language)  # before the list is read: a change meanwhile rebuilds
        sources = letter_pdf.pdf_sources(*letter_parts(language), listed_at=now)
        db.session.commit()  # the list is read: hold no transaction while the child works
        pdf = _in_child(sources)
    except Exception as error:  # noqa: BLE001 - the last PDF stays; the next look tries again
        log.warning("the %s PDF could not be built: %s", language, error)
        with write_transaction():  # the lease stays a minute: a server that can't build waits
            db.session.execute(
                update(LetterPdf)
                .where(held)
                .values(building_until=now + RETRY_AFTER_FAILURE, last_error=str(error)[:200])
                .execution_options(synchronize_session=False)
            )
        return False
    with write_transaction():
        db.session.execute(
            update(LetterPdf)
            .where(held)
            .values(pdf=pdf, version=version, built_at=now, building_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
    log.info("built the %s PDF: %s bytes", language, len(pdf))
    return True


def build_due_pdfs(now: dt.datetime | None = None) -> int:
    """Build each language's PDF that is due; how many were built. `now` moves this call's
    clock (tests); each language reads it afresh, as its build starts."""
    offset = now - utcnow() if now else dt.timedelta(0)
    built = 0
    for language in current_campaign().languages:
        if pdf_due(language, utcnow() + offset):
            built += build_pdf(language, utcnow() + offset)
    db.session.commit()
    return built
