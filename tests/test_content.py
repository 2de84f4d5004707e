"""Campaign content as organizers write it: Markdown, linked sources, their own words, press phone."""

import html

import pytest

from app.campaign import CampaignError, load_campaign, tel_uri
from app.markdown import References, plain_text, render_markdown


def campaign_file(tmp_path, en="", fr="", phone=None, summary="Stop it now."):
    """A small valid campaign file; `en` and `fr` add lines to each language's table."""
    phone_line = f'phone = "{phone}"' if phone else ""
    text = f"""
goal = 100

[organization]
postal_address = "1 Example Street, Ottawa"
privacy_url = "https://example.org/privacy"

[press]
name = "Press Person"
email = "press@example.org"
{phone_line}
"""
    for language, extra in (("en", en), ("fr", fr)):
        defaults = {"summary": summary, "text": "The full text."}
        for key in list(defaults):
            if f"\n{key} =" in f"\n{extra}":
                del defaults[key]
        lines = "\n".join(f"{key} = {value!r}" for key, value in defaults.items())
        text += f"""
[{language}]
organization = "Coalition {language}"
title = "Title {language}"
target = "The Minister"
share_text = "Share this"
{lines}
{extra}
"""
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- Markdown -------------------------------------------------------------------------------------


def test_markdown_renders_paragraphs_lists_links_emphasis_and_shifted_headings():
    page = str(
        render_markdown(
            "# Why\n\nFirst *one*, **two**.\n\nSecond [read](https://example.org/a).\n\n"
            "- apples\n- pears\n\n1. first\n2. second\n\n## How\n\n[write](mailto:a@example.org)"
        )
    )
    assert "<h2>Why</h2>" in page and "<h3>How</h3>" in page
    assert "<p>First <em>one</em>, <strong>two</strong>.</p>" in page
    assert '<a href="https://example.org/a">read</a>' in page
    assert "<ul>\n<li>apples</li>\n<li>pears</li>\n</ul>" in page
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in page
    assert '<a href="mailto:a@example.org">write</a>' in page
    assert "<h4>Why</h4>" in str(render_markdown("# Why", heading_level=4))
    assert "<h6>Deep</h6>" in str(render_markdown("###### Deep", heading_level=4))


@pytest.mark.parametrize(
    "hostile, absent",
    [
        ("<script>alert(1)</script>", "<script"),
        ("a <b onclick='x()'>unclosed", "<b"),
        ("<!-- a comment -->", "<!--"),
        ("<div>\n\n*in a block*\n\n</div>", "<div"),
        ("[click](javascript:alert(1))", "href"),
        ("[click](JavaScript:alert(1))", "href"),
        ("[click](javascript&#58;alert(1))", "href"),
        ("[click](data:text/html;base64,PHNjcmlwdD4=)", "href"),
        ("[click][x]\n\n[x]: javascript:alert(1)", "href"),
        ("<javascript:alert(1)>", "href"),
        ("![pixel](https://tracker.example/p.png)", "<img"),
        ('<a href="https://example.org">raw</a>', "<a"),
    ],
)
def test_hostile_markdown_is_escaped_or_dropped_never_rendered(hostile, absent):
    page = str(render_markdown(hostile))
    assert absent not in page
    assert "<script" not in page


def test_a_200_kb_text_renders_escaped_without_trouble():
    text = ("<script>x</script> *word* [^1] " * 6000)[:200_000]
    page = str(render_markdown(text, references=References()))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert len(plain_text(text)) > 100_000


def test_plain_text_for_emails_keeps_words_lists_and_link_addresses_without_markup():
    text = (
        "# Title\n\nSome *emphasis* and [a link](https://example.org/x).\n\n- one\n- two[^1]\n\n<b>bold</b>"
    )
    assert plain_text(text) == (
        "Title\n\nSome emphasis and a link (https://example.org/x).\n\n- one\n- two[1]\n\n<b>bold</b>"
    )


# --- sources --------------------------------------------------------------------------------------


SOURCES_EN = """
text = "Claim[^1]. Range[^2-4]. List[^5, 6]. Run[^5][^6]. Again[^1]."
sources = [
    {text = "First report", url = "https://www.priv.gc.ca/en/"},
    "Second, plain",
    "Third, plain",
    {text = "Fourth & last", url = "https://example.org/4?a=1&b=2"},
    "Fifth",
    "Sixth",
]
"""


def test_sources_with_and_without_urls_ranges_and_lists_link_both_ways(tmp_path):
    content = load_campaign(campaign_file(tmp_path, en=SOURCES_EN, fr=SOURCES_EN)).content["en"]
    text = str(content.text)
    assert '<a href="#source-1" id="ref-1-a" aria-label="source 1">1</a>' in text
    assert '<a href="#source-1" id="ref-1-b" aria-label="source 1">1</a>' in text
    # [^2-4] reads "2-4"; 3 has an anchor for its back link inside the range.
    assert (
        '<a href="#source-2" id="ref-2-a" aria-label="source 2">2</a>-<span id="ref-3-a"></span>'
        '<a href="#source-4" id="ref-4-a" aria-label="source 4">4</a>'
    ) in text
    # [^5, 6] and [^5][^6] both read "5, 6", each number its own link.
    assert text.count('aria-label="source 5">5</a>, <a href="#source-6"') == 2
    assert [source.citations for source in content.sources[:3]] == [
        ("ref-1-a", "ref-1-b"),
        ("ref-2-a",),
        ("ref-3-a",),
    ]
    assert content.sources[0].url == "https://www.priv.gc.ca/en/" and content.sources[1].url == ""
    assert content.text_plain == "Claim[1]. Range[2-4]. List[5, 6]. Run[5, 6]. Again[1]."


def test_the_campaign_page_lists_sources_with_their_links_and_back_links(make_app, tmp_path):
    path = campaign_file(tmp_path, en=SOURCES_EN, fr=SOURCES_EN, summary="Summary cites[^4].")
    page = make_app(CAMPAIGN_FILE=str(path)).test_client().get("/").get_data(as_text=True)
    assert '<li id="source-1"><a href="https://www.priv.gc.ca/en/">First report</a>' in page
    assert '<li id="source-2">Second, plain' in page
    assert '<a href="https://example.org/4?a=1&amp;b=2">Fourth &amp; last</a>' in page
    # The summary cites first, so its marker takes the first id.
    assert 'Summary cites<sup class="source-ref"><a href="#source-4" id="ref-4-a"' in page
    assert 'href="#ref-4-b" class="backref"' in page and 'href="#ref-1-b" class="backref"' in page


def test_old_footnotes_lists_still_load(tmp_path):
    extra = 'text = "Claim[^1]."\nfootnotes = ["A source"]'
    content = load_campaign(campaign_file(tmp_path, en=extra, fr=extra)).content["fr"]
    assert content.sources[0].text == "A source" and content.sources[0].citations == ("ref-1-a",)


@pytest.mark.parametrize(
    "en, message",
    [
        ('text = "Claim[^2]."\nsources = ["one"]', "en.text refers to source [^2], which en.sources lacks"),
        ('text = "Claim[^1-3]."\nsources = ["a", "b"]', "en.text refers to source [^3]"),
        ('text = "Claim[^3-1]."\nsources = ["a", "b", "c"]', "en.text cites the range [^3-1]"),
        (
            'summary = "Claim[^1]."\ntext = "No marker."',
            "en.summary refers to source [^1], which en.sources lacks",
        ),
        ('text = "Claim[^1]."\nsources = ["a", "b"]', "en.sources[2] is never cited"),
        ('text = "Claim[^1]."\nfootnotes = ["a", "b"]', "en.footnotes[2] is never cited"),
        ('text = "Claim[^1]."\nsources = [{url = "https://a.org"}]', "en.sources[1].text is missing"),
        (
            'text = "Claim[^1]."\nsources = [{text = "a", url = "ftp://a.org"}]',
            "en.sources[1].url must start",
        ),
        ('text = "Claim[^1]."\nsources = [3]', "en.sources[1] must be text or a table"),
    ],
)
def test_undefined_markers_and_unused_sources_are_named_with_language_and_field(tmp_path, en, message):
    fr = 'text = "Texte[^1]."\nsources = ["a"]'
    with pytest.raises(CampaignError) as error:
        load_campaign(campaign_file(tmp_path, en=en, fr=fr))
    assert message in str(error.value)


def test_campaign_check_names_an_unused_source(runner, tmp_path):
    fr = 'text = "Texte[^1]."\nsources = ["a", "b"]'
    path = campaign_file(tmp_path, en='text = "x[^1]"\nsources = ["a"]', fr=fr)
    result = runner.invoke(args=["campaign", "check", str(path)])
    assert result.exit_code != 0
    assert "fr.sources[2] is never cited: no [^2] in fr.summary or fr.text" in result.output


# --- the campaign's own words ---------------------------------------------------------------------


OWN_WORDS = {
    "en": """
hosted_by = "Hosted by the Coalition for Faces Without Files"
privacy = "We keep **only** what we need. <script>x</script>\\n\\n# Details"
donate_url = "https://example.org/donate"
donate_text = "Chip in to keep us going"
related = [{text = "Our letter to the council", url = "https://example.org/letter"}]
""",
    "fr": """
hosted_by = "Une campagne de la Coalition Visages sans fichiers"
privacy = "Nous ne gardons que le nécessaire."
donate_url = "https://example.org/don"
donate_text = "Faites un don"
related = [{text = "Notre lettre au conseil", url = "https://example.org/lettre"}]
""",
}


def test_hosted_by_privacy_donate_and_related_are_shown_in_each_language(make_app, tmp_path):
    path = campaign_file(tmp_path, en=OWN_WORDS["en"], fr=OWN_WORDS["fr"])
    client = make_app(CAMPAIGN_FILE=str(path)).test_client()
    page = client.get("/?lang=en").get_data(as_text=True)
    assert '<p class="hosted-by">Hosted by the Coalition for Faces Without Files</p>' in page
    assert "<p>We keep <strong>only</strong> what we need. &lt;script&gt;x&lt;/script&gt;</p>" in page
    assert "<h4>Details</h4>" in page
    assert '<a href="https://example.org/privacy">' in page
    assert '<a href="https://example.org/letter">Our letter to the council</a>' in page
    thanks = client.get("/thanks?lang=en").get_data(as_text=True)
    assert '<a href="https://example.org/donate">Chip in to keep us going</a>' in thanks
    assert '<a href="https://example.org/letter">Our letter to the council</a>' in thanks
    assert "<script" not in thanks.replace('<script src="', "")
    page = client.get("/?lang=fr").get_data(as_text=True)
    assert "Une campagne de la Coalition Visages sans fichiers" in page
    assert "Nous ne gardons que le nécessaire." in page
    assert '<a href="https://example.org/don">Faites un don</a>' in client.get("/thanks?lang=fr").get_data(
        as_text=True
    )


def test_without_their_own_words_the_pages_keep_the_interface_wording(make_app, tmp_path):
    client = make_app(CAMPAIGN_FILE=str(campaign_file(tmp_path))).test_client()
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "We use your email address only to confirm your signature" in html.unescape(page)
    assert "hosted-by" not in page and "related-title" not in page
    assert 'class="donate"' not in client.get("/thanks?lang=en").get_data(as_text=True)


@pytest.mark.parametrize(
    "en, message",
    [
        ('donate_url = "https://example.org/d"', "en.donate_text is missing"),
        ('donate_text = "Give"', "en.donate_text needs en.donate_url"),
        (
            'donate_url = "javascript:alert(1)"\ndonate_text = "Give"',
            "en.donate_url must start with https://",
        ),
        ('related = [{text = "x", url = "javascript:x"}]', "en.related[1].url must start with https://"),
        ('related = ["https://example.org"]', "en.related[1] must be a table"),
        ('hosted_by = "two\\nlines"', "en.hosted_by must fit on one line"),
    ],
)
def test_bad_own_words_are_refused_with_the_field_named(tmp_path, en, message):
    with pytest.raises(CampaignError) as error:
        load_campaign(campaign_file(tmp_path, en=en))
    assert message in str(error.value)


# --- press contact --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, uri",
    [
        ("+1 613 555 0100", "tel:+16135550100"),
        ("+1 613 555 0100 ext. 123", "tel:+16135550100;ext=123"),
        ("+1 (613) 555-0100, poste 123", "tel:+16135550100;ext=123"),
        ("613.555.0100 x123", "tel:+16135550100;ext=123"),
        ("1-613-555-0100 extension 45", "tel:+16135550100;ext=45"),
        ("+33 1 23 45 67 89", "tel:+33123456789"),
    ],
)
def test_phone_numbers_with_extensions_make_valid_tel_links(written, uri):
    assert tel_uri(written) == uri


@pytest.mark.parametrize(
    "written",
    [
        "call us",
        "555 0100",
        "+1 613 555 0100 <b>",
        "+1 613",
        "+1 ٦١٣ ٥٥٥ ٠١٠٠",  # Arabic-Indic digits: no tel: link can carry them
        "+1 613 555 0100 ext. １２",  # a full-width extension
    ],
)
def test_a_phone_number_that_cannot_be_dialled_is_refused(tmp_path, written):
    with pytest.raises(CampaignError, match="press.phone"):
        load_campaign(campaign_file(tmp_path, phone=written))


def test_the_press_contact_shows_the_number_as_written_with_its_tel_link(make_app, tmp_path):
    path = campaign_file(tmp_path, phone="+1 613 555 0100 poste 123")
    page = make_app(CAMPAIGN_FILE=str(path)).test_client().get("/").get_data(as_text=True)
    assert '<a href="tel:+16135550100;ext=123">+1 613 555 0100 poste 123</a>' in page
