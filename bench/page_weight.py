"""The campaign page's weight: its HTML and every file it loads, raw and gzip-compressed."""

import gzip
import re

BUDGET_BYTES = 60 * 1024
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def page_weight(client, language: str) -> dict:
    """Bytes of / and of each /static file it references, as a browser would fetch them."""
    page = client.get(f"/?lang={language}")
    html = page.data
    files = {"/": html}
    for path in sorted(set(ASSET.findall(html.decode()))):
        with client.get(path) as response:  # static files are streamed: close them
            files[path] = response.data
    raw = sum(len(body) for body in files.values())
    compressed = sum(len(gzip.compress(body, compresslevel=6)) for body in files.values())
    return {
        "language": language,
        "files": {path: len(body) for path, body in files.items()},
        "raw": raw,
        "gzip": compressed,
    }
