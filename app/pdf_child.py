"""WeasyPrint, bounded, in a child process: the open letter's page and its stylesheets as JSON on
stdin (with the font files it may read), the PDF on stdout.

Run as a script (`python app/pdf_child.py MEMORY_MB`), never as `python -m app.pdf_child`: a
script imports nothing of the `app` package, whose start-up (Flask, SQLAlchemy and every
module) cost a second of each build, a third of it. So this file imports only the standard
library and WeasyPrint, and app/letter_pdf.py imports it for the same write_pdf in process.
"""

import json
import logging
import os
import resource
import sys
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

# WeasyPrint's warnings quote the document's text, such as a signatory's name a font lacks:
# keep them out of the logs. Its errors name a URL it could not load, which is public.
logging.getLogger("weasyprint").setLevel(logging.ERROR)

# Only data: URLs may be read while building, and the fonts given: no request leaves the
# server, and no other file is read.
ALLOWED_PROTOCOLS = ("data",)


def weasyprint():
    """WeasyPrint, imported on first use: it loads Pango, which a server may lack (ImportError
    or OSError then)."""
    import weasyprint
    import weasyprint.text.fonts
    import weasyprint.urls

    return weasyprint


def write_pdf(html: str, stylesheets, fonts: dict[str, bytes]) -> bytes:
    """The PDF of `html` with these stylesheets, reading nothing but `fonts` (address: bytes)."""
    module = weasyprint()
    fetcher = offline_fetcher(fonts)
    font_config = module.text.fonts.FontConfiguration()
    sheets = [module.CSS(string=sheet, url_fetcher=fetcher, font_config=font_config) for sheet in stylesheets]
    document = module.HTML(string=html, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=sheets, font_config=font_config, pdf_tags=True)


def offline_fetcher(fonts: dict[str, bytes]):
    """WeasyPrint's URL fetcher: `fonts`, from memory, and data: URLs (an image, a stylesheet);
    every other URL is refused."""
    return _offline_fetcher_class()(
        fonts, allowed_protocols=ALLOWED_PROTOCOLS, allow_redirects=False, timeout=1
    )


@cache
def _offline_fetcher_class():
    urls = weasyprint().urls

    class OfflineFetcher(urls.URLFetcher):
        def __init__(self, fonts: dict[str, bytes], **options):
            super().__init__(**options)
            self.fonts = fonts

        def fetch(self, url, headers=None):
            font = self.fonts.get(url)
            if font is not None:
                return urls.URLFetcherResponse(url, body=font, headers={"Content-Type": "font/ttf"})
            return super().fetch(url, headers)

    return OfflineFetcher


def main(memory_mb: int) -> None:
    """At low priority, so web workers keep the processor, and within MEMORY_MB of data: a
    runaway build fails instead of swapping. The fonts come as file addresses (file:///...),
    read here and nowhere else."""
    os.nice(10)
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    sources = json.load(sys.stdin)
    fonts = {url: Path(unquote(urlsplit(url).path)).read_bytes() for url in sources["fonts"]}
    sys.stdout.buffer.write(write_pdf(sources["html"], sources["stylesheets"], fonts))


if __name__ == "__main__":
    main(int(sys.argv[1]))
