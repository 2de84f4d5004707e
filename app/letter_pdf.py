"""The open letter on paper: a printable page and a PDF of the letter and its signatories.

Both come from one template, templates/open_letter/print.html, and one stylesheet,
static/letter.css. The PDF is built by WeasyPrint, imported only when a PDF is asked for so
that the app starts where Pango is missing (the PDF route then answers 503). WeasyPrint reads
nothing from the network or the disk while building: its URL fetcher takes data: URLs and the
project's own fonts (app/letter_fonts.py), which the stylesheet names, and nothing else.

A PDF is kept per (language, listing version) in a small cache in each process: downloads
between two changes of the list cost one build per language in each gunicorn worker, not one
per download. The caller's listing version must change whenever a signatory is listed or
leaves the list.
"""

import datetime as dt
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from functools import cache
from pathlib import Path
from typing import NamedTuple

from flask import Response, current_app, render_template
from flask_babel import force_locale, format_date, gettext
from werkzeug.exceptions import ServiceUnavailable

from . import letter_fonts
from .campaign import WEB_URL

log = logging.getLogger(__name__)
# WeasyPrint's warnings quote the document's text, such as a signatory's name a font lacks:
# keep them out of the logs. Its errors name a URL it could not load, which is public.
logging.getLogger("weasyprint").setLevel(logging.ERROR)

TEMPLATE = "open_letter/print.html"
STYLESHEET = "letter.css"
UNAVAILABLE_TEMPLATE = "open_letter/pdf_unavailable.html"
# Canadian and US offices print on Letter; the margins in letter.css suit A4 as well.
PAGE_SIZE = "letter"
# Only data: URLs may be read while building: no request leaves the server, no file is read.
ALLOWED_PROTOCOLS = ("data",)
CACHE_SIZE = 4  # two languages, the current listing and the one before it
PLACEHOLDER = re.compile(r"%\((page|pages)\)s")


class Organization(NamedTuple):
    """A listed organization: its name and, when it gave one, its website."""

    name: str
    website: str = ""


class Individual(NamedTuple):
    """A listed individual: name, then the title and organization they gave (either may be empty)."""

    name: str
    title: str = ""
    organization: str = ""


class PdfUnavailable(ServiceUnavailable):
    """This server cannot build PDFs: WeasyPrint or the Pango library it loads is missing."""


def render_letter_html(
    content,
    organizations: Iterable[tuple],
    individuals: Iterable[tuple],
    language: str,
    letter_date: dt.date,
    *,
    pdf: bool = False,
    pdf_url: str = "",
) -> str:
    """The printable page: the letter, then the signatories.

    `content` is the campaign's Content in `language`; its `letter` has the parts around the
    body: `addressee` (lines), `salutation`, `closing` and `cc` (lines). Signatories come as
    (name, website) and (name, title, organization) rows, in the order to print. With `pdf`,
    the page links no stylesheet (the PDF build passes it) and no PDF.
    """
    with force_locale(language):
        return render_template(
            TEMPLATE,
            content=content,
            letter=content.letter,
            language=language,
            letter_date=letter_date,
            date=format_date(letter_date, "long"),
            organizations=[_organization(*row) for row in organizations],
            individuals=[Individual(*row) for row in individuals],
            pdf=pdf,
            pdf_url=pdf_url,
        )


def _organization(name: str, website: str | None = "") -> Organization:
    """The organization as listed; a website that is not an http(s) address is left out, never linked."""
    website = website or ""
    return Organization(name, website if website.startswith(WEB_URL) else "")


def render_letter_pdf(
    content,
    organizations: Iterable[tuple],
    individuals: Iterable[tuple],
    language: str,
    letter_date: dt.date,
) -> bytes:
    """The letter and its signatories as a PDF, with page numbers; raises PdfUnavailable."""
    weasyprint = _weasyprint()
    html = render_letter_html(content, organizations, individuals, language, letter_date, pdf=True)
    fetcher = offline_fetcher()
    fonts = weasyprint.text.fonts.FontConfiguration()
    with force_locale(language):
        pages = _page_css()
    stylesheets = [
        weasyprint.CSS(string=letter_fonts.font_face_css(), url_fetcher=fetcher, font_config=fonts),
        weasyprint.CSS(string=_stylesheet(), url_fetcher=fetcher, font_config=fonts),
        weasyprint.CSS(string=pages, url_fetcher=fetcher, font_config=fonts),
    ]
    document = weasyprint.HTML(string=html, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=stylesheets, font_config=fonts, pdf_tags=True)


def offline_fetcher():
    """WeasyPrint's URL fetcher: the project's fonts, from memory, and data: URLs (an image, a
    stylesheet); every other URL is refused."""
    return _offline_fetcher_class()(allowed_protocols=ALLOWED_PROTOCOLS, allow_redirects=False, timeout=1)


@cache
def _offline_fetcher_class():
    urls = _weasyprint().urls

    class OfflineFetcher(urls.URLFetcher):
        def fetch(self, url, headers=None):
            font = letter_fonts.font_files().get(url)
            if font is not None:
                return urls.URLFetcherResponse(url, body=font, headers={"Content-Type": "font/ttf"})
            return super().fetch(url, headers)

    return OfflineFetcher


def _weasyprint():
    try:
        # Imported here, not at the top: it loads Pango, which a server may lack.
        import weasyprint
        import weasyprint.text.fonts
        import weasyprint.urls
    except (ImportError, OSError) as error:
        log.warning("cannot build PDFs: %s", error)
        raise PdfUnavailable() from error
    return weasyprint


def _stylesheet() -> str:
    return (Path(current_app.static_folder) / STYLESHEET).read_text(encoding="utf-8")


def _page_css() -> str:
    """The page size and the translated "Page 2 of 5" footer, in the current locale."""
    label = gettext("Page %(page)s of %(pages)s")
    parts = PLACEHOLDER.split(label)  # text, name, text, name, text
    content = " ".join(
        f"counter({part})" if index % 2 else _css_string(part) for index, part in enumerate(parts) if part
    )
    return f"@page {{ size: {PAGE_SIZE}; @bottom-center {{ content: {content}; }} }}"


def _css_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'"{escaped}"'


class PdfCache:
    """The last few PDFs built, by key; a process builds one at a time, so threads that miss
    together wait for one build instead of each making their own."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self.builds = 0
        self._pdfs: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()  # guards _pdfs and builds
        self._building = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """The PDF for `key`; `build` runs only when this process has none for it."""
        pdf = self._lookup(key)
        if pdf is not None:
            return pdf
        with self._building:
            pdf = self._lookup(key)
            if pdf is not None:
                return pdf
            pdf = build()
            with self._lock:
                self.builds += 1
                self._pdfs[key] = pdf
                while len(self._pdfs) > self.size:
                    self._pdfs.popitem(last=False)
            return pdf

    def _lookup(self, key: Hashable) -> bytes | None:
        with self._lock:
            pdf = self._pdfs.get(key)
            if pdf is not None:
                self._pdfs.move_to_end(key)
            return pdf


def pdf_cache() -> PdfCache:
    """This app's cache of built PDFs, made on first use."""
    return current_app.extensions.setdefault("letter_pdf_cache", PdfCache())


def letter_pdf(key: Hashable, build: Callable[[], bytes]) -> bytes:
    """The PDF for `key` = (language, listing version), built by `build` on a miss."""
    return pdf_cache().get(key, build)


def send_letter_pdf(
    key: Hashable, build: Callable[[], bytes], filename: str, print_url: str = ""
) -> Response:
    """The /letter.pdf response: the cached PDF, or a 503 page pointing to the printable version."""
    try:
        pdf = letter_pdf(key, build)
    except PdfUnavailable:
        page = render_template(UNAVAILABLE_TEMPLATE, status=503, print_url=print_url)
        return Response(page, status=503, mimetype="text/html")
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )
