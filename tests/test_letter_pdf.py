"""The open letter on paper: the printable page and the PDF, read back as text with pypdf."""

import datetime as dt
import io
import logging
import re
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pypdf
import pytest
from flask_babel import force_locale, gettext
from markupsafe import Markup

from app import letter_fonts
from app.campaign import load_campaign
from app.letter_pdf import PdfUnavailable, offline_fetcher, render_letter_html, render_letter_pdf
from helpers import OPEN_LETTER

LETTER_DATE = dt.date(2026, 11, 30)

CAMPAIGN_FILE = Path(__file__).parent / "campaigns" / "letter-print.toml"

# The letter's parts as the open letter kind parses them; the minister and the signatories are fictional.
LETTERS = {
    "en": SimpleNamespace(
        addressee=(
            "The Honourable Jordan Exemple",
            "Minister of Public Safety",
            "269 Laurier Avenue West",
            "Ottawa ON K1A 0P8",
        ),
        salutation="Dear Minister,",
        closing="Yours sincerely,",
        cc=("Privacy Commissioner of Canada", "Chair, Standing Committee on Public Safety"),
    ),
    "fr": SimpleNamespace(
        addressee=(
            "L'honorable Jordan Exemple",
            "Ministre de la Sécurité publique",
            "269, avenue Laurier Ouest",
            "Ottawa (Ontario) K1A 0P8",
        ),
        salutation="Monsieur le Ministre,",
        closing="Veuillez agréer, Monsieur le Ministre, l'expression de nos sentiments distingués.",
        cc=("Commissaire à la protection de la vie privée du Canada",),
    ),
}

ORGANIZATIONS = [
    ("Ligue des droits et libertés", "https://example.org/ligue"),
    ("Association québécoise des écoles", ""),
    ("Hội Bảo vệ Quyền riêng tư", "https://example.org/vn"),
]
INDIVIDUALS = [
    ("Amélie Côté-Lefèvre", "Professeure", "Université de Montréal"),
    ("Nguyễn Thị Minh Khai", "", ""),
    ("سارة الخطيب", "Researcher", ""),
    ("王小明", "", "Chinese Canadian Council"),
    ("Jean O'Brien", "Lawyer", "Ottawa Legal Clinic"),
]


def letter_content(language: str, **changes):
    """The campaign's Content in `language` with its letter's parts, as the open letter kind gives it."""
    content = load_campaign(CAMPAIGN_FILE).content[language]
    return SimpleNamespace(**{**vars(content), "letter": LETTERS[language], **changes})


def many_signatories(count: int) -> tuple[list, list]:
    """`count` signatories, one organization for every four individuals."""
    organizations = [(f"Organization number {n}", f"https://example.org/{n}") for n in range(count // 5)]
    individuals = [
        (f"Person {n} Lévesque", "Volunteer" if n % 2 else "", f"Group {n % 7}" if n % 3 else "")
        for n in range(count - len(organizations))
    ]
    return organizations, individuals


BIDI_MARKS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each page as a reader copies it, lines joined by spaces (long lines wrap).

    Read by poppler's pdftotext, as PDF viewers read it: pypdf misreads the encoding WeasyPrint
    writes for a font that lacks a glyph (a CJK name without a CJK font), which poppler and
    pdf.js read right. The marks pdftotext puts around right-to-left text are left out."""
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    pages = BIDI_MARKS.sub("", text.decode()).split("\f")
    return [" ".join(page.split()) for page in pages if page.strip()]


def render(language: str = "en", organizations=ORGANIZATIONS, individuals=INDIVIDUALS, **changes) -> bytes:
    return render_letter_pdf(
        letter_content(language, **changes), organizations, individuals, language, LETTER_DATE
    )


@pytest.fixture
def context(app):
    with app.test_request_context():
        yield app


# --- what the PDF says ------------------------------------------------------------------------


def test_english_pdf_has_the_letter_then_the_signatories_with_page_numbers(context):
    pages = pdf_pages(render("en"))

    assert len(pages) == 2
    letter, signatories = pages
    for part in (
        "Coalition for Faces Without Files",
        "November 30, 2026",
        "The Honourable Jordan Exemple Minister of Public Safety 269 Laurier Avenue West Ottawa ON K1A 0P8",
        "Open letter: no facial recognition for federal police",
        "Dear Minister,",
        "broke the law",
        "Yours sincerely,",
        "Privacy Commissioner of Canada Chair, Standing Committee on Public Safety",
        "Sources",
        "special report to Parliament, June 2021. https://example.org/report",
        "Privacy Act, R.S.C. 1985, c. P-21.",
        "Page 1 of 2",
    ):
        assert part in letter, part
    assert letter.index("Dear Minister") < letter.index("Yours sincerely") < letter.index("Sources")
    assert signatories.startswith("Signatories Organizations (3)")
    assert signatories.index("Organizations (3)") < signatories.index("Individuals (5)")
    for name, _website in ORGANIZATIONS:
        assert name in signatories
    for name, _title, _organization in INDIVIDUALS:
        assert name in signatories
    assert "Amélie Côté-Lefèvre, Professeure, Université de Montréal" in signatories
    assert "王小明, Chinese Canadian Council" in signatories
    assert signatories.endswith("Page 2 of 2")


def test_french_pdf_has_the_french_date_accents_and_translated_labels(context):
    pages = pdf_pages(render("fr"))

    letter, signatories = pages
    assert "30 novembre 2026" in letter
    assert "Ministre de la Sécurité publique 269, avenue Laurier Ouest Ottawa (Ontario) K1A 0P8" in letter
    assert "Monsieur le Ministre," in letter
    assert "l'expression de nos sentiments distingués." in letter
    assert "Commissariat à la protection de la vie privée du Canada" in letter
    assert "Amélie Côté-Lefèvre" in signatories and "Association québécoise des écoles" in signatories
    with force_locale("fr"):
        assert gettext("Organizations (%(count)s)", count=3) in signatories
        assert gettext("Page %(page)s of %(pages)s", page=2, pages=2) in signatories


def test_pdf_is_tagged_and_names_the_letter_its_author_and_language(context):
    reader = pypdf.PdfReader(io.BytesIO(render("fr")))

    assert reader.metadata.title.startswith("Lettre ouverte : pas de reconnaissance faciale")
    assert reader.metadata.author == "Coalition Visages sans fichiers"
    assert reader.trailer["/Root"]["/Lang"] == "fr"
    assert reader.trailer["/Root"]["/MarkInfo"]["/Marked"], "tagged: headings and lists for screen readers"


def test_names_are_text_not_markup_in_the_page_and_the_pdf(context):
    organizations = [
        ("<b>Bold</b> & Co", "javascript:alert(1)"),
        ('Quote "Me"', "https://example.org/?a=1&b=2"),
    ]
    individuals = [("<script>alert(1)</script>", "<i>Chief</i>", "Tom & Jerry")]

    page = render_letter_html(letter_content("en"), organizations, individuals, "en", LETTER_DATE)
    text = " ".join(pdf_pages(render("en", organizations, individuals)))

    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in page
    assert "<b>" not in page and "<script>" not in page and "<i>" not in page
    assert "javascript:" not in page, "a website that is not http(s) is shown without its link"
    assert 'href="https://example.org/?a=1&amp;b=2" rel="nofollow noopener">Quote &#34;Me&#34;</a>' in page
    assert "<b>Bold</b> & Co" in text
    assert "<script>alert(1)</script>, <i>Chief</i>, Tom & Jerry" in text


def test_empty_lists_say_so(context):
    text = pdf_pages(render("en", [], []))[-1]

    assert "Organizations (0) None yet. Individuals (0) None yet." in text


def test_missing_website_title_and_organization_may_be_none(context):
    page = render_letter_html(letter_content("en"), [("Org", None)], [("Ann", None, None)], "en", LETTER_DATE)

    assert "<li>Org</li>" in page
    assert '<li><span class="name">Ann</span></li>' in page


def test_a_name_without_spaces_wraps_inside_its_column_instead_of_running_off_the_page(context):
    name, title, organization = "A" + "x" * 99, "T" * 100, "O" * 150  # each as long as the form allows
    pdf = render("en", [(name, "")], [("B" + "y" * 99, title, organization)])
    lines = pypdf.PdfReader(io.BytesIO(pdf)).pages[-1].extract_text().splitlines()

    for word in (name, "B" + "y" * 99, title, organization):
        assert not any(word in line for line in lines), f"{word[:3]}... runs on in one line"
        assert word in "".join(lines), "all of it is printed"


def test_a_name_no_installed_font_can_draw_still_makes_a_pdf(context):
    # Ethiopic and Linear B: DejaVu and the CJK font have neither; the glyphs show as boxes.
    pdf = render("en", [("ሰላም ማህበር", "")], [("𐀀𐀁𐀂", "", "")])

    assert pdf.startswith(b"%PDF-")
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 2


def test_a_thousand_signatories_fill_numbered_pages_that_repeat_their_list_heading(context):
    organizations, individuals = many_signatories(1000)

    pages = pdf_pages(render("en", organizations, individuals))

    text = " ".join(pages)
    assert "Organizations (200)" in text and "Individuals (800)" in text
    assert "Organization number 0" in text and "Organization number 199" in text
    assert "Person 0 Lévesque" in text and "Person 799 Lévesque, Volunteer, Group 1" in text
    assert pages[-1].endswith(f"Page {len(pages)} of {len(pages)}")
    # Pages the lists run onto repeat the list's heading at the top.
    assert pages[2].startswith("Organizations (200) Organization number")
    assert pages[-1].startswith("Individuals (800) Person")
    assert not pages[1].startswith("Organizations (200)"), "not where the list starts"


# --- the fonts ------------------------------------------------------------------------------

LATIN_INDIVIDUALS = [row for row in INDIVIDUALS if row[0] != "王小明"]


@pytest.fixture
def no_system_fonts(monkeypatch, tmp_path):
    """A fontconfig that knows no font at all, as on a bare server; font checks redone under it."""
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
        f"<fontconfig><cachedir>{tmp_path / 'font-cache'}</cachedir></fontconfig>"
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    letter_fonts.system_has_cjk_font.cache_clear()
    letter_fonts.warn_without_cjk_font.cache_clear()
    yield
    letter_fonts.system_has_cjk_font.cache_clear()
    letter_fonts.warn_without_cjk_font.cache_clear()


def pdf_fonts(pdf: bytes) -> set[str]:
    """The fonts a PDF draws with, without their subset prefix (ABCDEF+)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return {
        str(font.get_object()["/BaseFont"]).split("+", 1)[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }


def page_images(pdf: bytes, folder: Path) -> list[bytes]:
    """Each page drawn as a PNG by poppler (pdftoppm), at a resolution enough to see a glyph change."""
    folder.mkdir()
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-", str(folder / "page")], input=pdf, check=True)
    return [path.read_bytes() for path in sorted(folder.glob("page-*.png"))]


def test_the_letter_draws_with_the_projects_own_fonts_not_the_systems(context):
    assert pdf_fonts(render("en", ORGANIZATIONS, LATIN_INDIVIDUALS)) == {
        "Letter-Serif",
        "Letter-Serif-Bold",
        "Letter-Serif-Italic",
        "Letter-Sans",
        "Letter-Sans-Bold",
    }


def test_the_letter_looks_the_same_on_a_server_with_no_fonts_at_all(context, tmp_path, request):
    here = render("fr", ORGANIZATIONS, LATIN_INDIVIDUALS)
    request.getfixturevalue("no_system_fonts")
    bare = render("fr", ORGANIZATIONS, LATIN_INDIVIDUALS)

    assert pdf_fonts(bare) == pdf_fonts(here)
    assert pdf_pages(bare) == pdf_pages(here)
    assert page_images(bare, tmp_path / "bare") == page_images(here, tmp_path / "here")
    assert "Amélie Côté-Lefèvre" in pdf_pages(bare)[1]


def test_without_a_cjk_font_the_app_says_so_at_start_up_and_every_name_stays_text(
    no_system_fonts, make_app, caplog
):
    with caplog.at_level(logging.WARNING, logger="app.letter_fonts"):
        app = make_app(CAMPAIGN_FILE=str(OPEN_LETTER))
    [warning] = [record.getMessage() for record in caplog.records if record.name == "app.letter_fonts"]
    assert "Chinese, Japanese or Korean" in warning and "apt-get install fonts-wqy-microhei" in warning

    with app.test_request_context():
        signatories = pdf_pages(render("en"))[1]
    for name, _website in ORGANIZATIONS:
        assert name in signatories
    assert "Jean O'Brien, Lawyer, Ottawa Legal Clinic" in signatories
    assert "王小明, Chinese Canadian Council" in signatories, "drawn as boxes, yet copied as its text"


def test_the_font_warning_is_given_once_per_process_and_only_for_an_open_letter(
    no_system_fonts, make_app, caplog
):
    with caplog.at_level(logging.WARNING, logger="app.letter_fonts"):
        make_app()
        assert not [record for record in caplog.records if record.name == "app.letter_fonts"]
        make_app(CAMPAIGN_FILE=str(OPEN_LETTER))
        make_app(CAMPAIGN_FILE=str(OPEN_LETTER))
    assert len([record for record in caplog.records if record.name == "app.letter_fonts"]) == 1


# --- without WeasyPrint ------------------------------------------------------------------------


def test_without_weasyprint_a_build_is_a_clear_error_and_the_app_still_runs(context, monkeypatch):
    # As on a server without WeasyPrint (or without the Pango it loads): the import fails.
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setitem(sys.modules, "weasyprint", None)

    with pytest.raises(PdfUnavailable):
        render("en")
    assert context.test_client().get("/").status_code == 200


# --- nothing is fetched ---------------------------------------------------------------------


@pytest.fixture
def web_server():
    """A local web server that counts the requests it gets."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", requests=requests)
    server.shutdown()
    server.server_close()


def test_the_fetcher_refuses_the_network_and_files_but_reads_data_urls(context, web_server):
    fetcher = offline_fetcher()

    for url in (f"{web_server.url}/logo.png", "https://example.org/font.woff2", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    assert web_server.requests == []
    with urllib.request.urlopen(f"{web_server.url}/control") as response:  # the server does count
        assert response.status == 200
    assert web_server.requests == ["/control"]


def test_building_the_pdf_fetches_nothing_a_text_points_to(context, web_server):
    # Our Markdown drops images; were one to get through, the build must still not fetch it.
    text = Markup(
        f'<p>Look <img src="{web_server.url}/image.png" alt="x"></p>'
        f'<p style="background: url({web_server.url}/background.png)">and</p>'
        f'<link rel="stylesheet" href="{web_server.url}/style.css">'
    )

    pdf = render("en", text=text)

    assert pdf.startswith(b"%PDF-")
    assert web_server.requests == []


# --- the printable page ---------------------------------------------------------------------


def test_printable_page_is_the_same_letter_with_its_own_stylesheet(context):
    page = render_letter_html(
        letter_content("fr"), ORGANIZATIONS, INDIVIDUALS, "fr", LETTER_DATE, pdf_url="/letter.pdf?lang=fr"
    )

    assert page.count("<link") == 1 and '<link rel="stylesheet" href="/static/letter.css">' in page
    assert "src=" not in page and "<script" not in page
    assert '<html lang="fr">' in page
    assert '<time datetime="2026-11-30">30 novembre 2026</time>' in page
    assert '<a href="/letter.pdf?lang=fr">' in page
    assert 'id="source-1"' in page and 'href="#source-1"' in page
    assert '<ul class="organizations" aria-labelledby="organizations-title">' in page
    assert page.count("<li>") == len(ORGANIZATIONS) + len(INDIVIDUALS) + len(LETTERS["fr"].cc)
    assert (
        '<a href="https://example.org/ligue" rel="nofollow noopener">Ligue des droits et libertés</a>' in page
    )
    assert "<li>Association québécoise des écoles</li>" in page
    with context.test_client().get("/static/letter.css") as stylesheet:
        assert stylesheet.status_code == 200


def test_the_pdf_build_links_no_stylesheet(context):
    page = render_letter_html(letter_content("en"), ORGANIZATIONS, INDIVIDUALS, "en", LETTER_DATE, pdf=True)

    assert "<link" not in page
