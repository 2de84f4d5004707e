"""The open letter on paper: a printable page and a PDF of the letter and its signatories.

Both come from one template, templates/open_letter/print.html, and one stylesheet,
static/letter.css. The PDF is built by WeasyPrint, imported only when a PDF is asked for so
that the app starts where Pango is missing (the PDF route then answers 503). WeasyPrint reads
nothing from the network or the disk while building: its URL fetcher takes data: URLs and the
project's own fonts (app/letter_fonts.py), which the stylesheet names, and nothing else.

Requests never build a PDF: app/pdf_builds.py builds each language's in the background, in
a child process (app/pdf_child.py reads the page and its stylesheets on stdin and writes the
PDF on stdout), and keeps it where every worker reads it.
"""

import datetime as dt
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from flask import Response, current_app, render_template
from flask_babel import force_locale, format_date, format_datetime, gettext
from werkzeug.exceptions import ServiceUnavailable

from . import letter_fonts, pdf_child
from .campaign import WEB_URL

log = logging.getLogger(__name__)

TEMPLATE = "open_letter/print.html"
STYLESHEET = "letter.css"
UNAVAILABLE_TEMPLATE = "open_letter/pdf_unavailable.html"
# Canadian and US offices print on Letter; the margins in letter.css suit A4 as well.
PAGE_SIZE = "letter"
# The signatories in one column in the PDF: WeasyPrint balances a multi-column list again on
# every page it spans, which made a PDF of 3,000 twice as costly, and 20,000 out of reach
# (see docs/benchmarks.md). The printable page keeps its two columns.
PDF_ONLY_CSS = " .organizations, .individuals { columns: auto; }"
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
    listed_at: dt.datetime | None = None,
) -> str:
    """The printable page: the letter, then the signatories.

    `content` is the campaign's Content in `language`; its `letter` has the parts around the
    body: `addressee` (lines), `salutation`, `closing` and `cc` (lines). Signatories come as
    (name, website) and (name, title, organization) rows, in the order to print. With `pdf`,
    the page links no stylesheet (the PDF build passes it) and no PDF. `listed_at` (the PDF's
    build time) is printed above the signatories: a PDF may be a moment behind the list.
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
            listed_at=format_datetime(listed_at, "long") if listed_at else "",
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
    listed_at: dt.datetime | None = None,
) -> bytes:
    """The letter and its signatories as a PDF, with page numbers, built in this process;
    raises PdfUnavailable."""
    return write_pdf(*pdf_sources(content, organizations, individuals, language, letter_date, listed_at))


def pdf_sources(content, organizations, individuals, language, letter_date, listed_at=None) -> tuple:
    """What WeasyPrint takes, as strings: the page, then its stylesheets (the fonts, letter.css,
    and the page size with its footer in `language`). Needs the app; write_pdf does not."""
    html = render_letter_html(
        content, organizations, individuals, language, letter_date, pdf=True, listed_at=listed_at
    )
    with force_locale(language):
        pages = _page_css()
    return html, (letter_fonts.font_face_css(), _stylesheet(), pages)


def write_pdf(html: str, stylesheets: Iterable[str]) -> bytes:
    """The PDF of `html` with these stylesheets, reading nothing but the project's fonts."""
    _weasyprint()
    return pdf_child.write_pdf(html, stylesheets, letter_fonts.font_files())


def offline_fetcher():
    """WeasyPrint's URL fetcher as a build uses it (pdf_child.offline_fetcher): the project's
    fonts, from memory, and data: URLs; every other URL is refused."""
    _weasyprint()
    return pdf_child.offline_fetcher(letter_fonts.font_files())


def _weasyprint():
    try:
        return pdf_child.weasyprint()
    except (ImportError, OSError) as error:
        log.warning("cannot build PDFs: %s", error)
        raise PdfUnavailable() from error


def _stylesheet() -> str:
    return (Path(current_app.static_folder) / STYLESHEET).read_text(encoding="utf-8")


def _page_css() -> str:
    """The page size and the translated "Page 2 of 5" footer, in the current locale, and what
    only the PDF's layout has (PDF_ONLY_CSS)."""
    label = gettext("Page %(page)s of %(pages)s")
    parts = PLACEHOLDER.split(label)  # text, name, text, name, text
    content = " ".join(
        f"counter({part})" if index % 2 else _css_string(part) for index, part in enumerate(parts) if part
    )
    return f"@page {{ size: {PAGE_SIZE}; @bottom-center {{ content: {content}; }} }}{PDF_ONLY_CSS}"


def _css_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'"{escaped}"'


def unavailable_page(print_url: str = "", preparing: bool = False) -> Response:
    """The 503 answer when there is no PDF to give: being prepared (try again in a moment), or
    this server cannot build one; either way the printable page is there."""
    page = render_template(UNAVAILABLE_TEMPLATE, status=503, print_url=print_url, preparing=preparing)
    response = Response(page, status=503, mimetype="text/html")
    response.headers["Retry-After"] = "30"
    return response
