"""WCAG 2.1 AA checks that need no browser: contrast of the palette, labels, lang, landmarks."""

import re
from pathlib import Path

import pytest

from helpers import assert_fields_labelled, sign

CSS = (Path(__file__).resolve().parent.parent / "static" / "site.css").read_text()
PALETTE = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    lighter, darker = sorted((luminance(a), luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize(
    "foreground, background, minimum",
    [
        ("ink", "paper", 4.5),
        ("ink", "wash", 4.5),
        ("muted", "paper", 4.5),
        ("muted", "wash", 4.5),
        ("brand", "paper", 4.5),
        ("brand", "wash", 4.5),
        ("error", "paper", 4.5),
        ("paper", "brand", 4.5),
        ("paper", "brand-dark", 4.5),
        ("paper", "error", 4.5),  # button text
        ("brand-light", "paper", 3.0),  # chart bars: non-text contrast
        ("focus", "ink", 3.0),  # the focus ring is drawn against a dark outline
    ],
)
def test_palette_meets_wcag_aa_contrast(foreground, background, minimum):
    assert contrast(PALETTE[foreground], PALETTE[background]) >= minimum


def test_every_field_has_a_label_and_pages_have_lang_and_a_main_landmark(client):
    for path in ("/", "/check-inbox", "/admin/login", "/?lang=fr"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(r'<html lang="(en|fr)">', page)
        assert '<main id="main"' in page and 'href="#main"' in page
        assert_fields_labelled(page)


def test_a_form_with_errors_ties_each_message_to_its_field(client):
    page = sign(client, name="", email="x").get_data(as_text=True)
    assert 'class="error-summary" role="alert" tabindex="-1" autofocus' in page
    for field in ("name", "email"):
        tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', page).group(0)
        assert 'aria-invalid="true"' in tag
        assert f"{field}-error" in re.search(r'aria-describedby="([^"]+)"', tag).group(1)


def test_organizer_pages_label_every_field_too(admin_client, client):
    sign(client, email="ana@example.ca")
    for path in ("/admin/", "/admin/signers", "/admin/signers?email=ana@example.ca", "/admin/?lang=fr"):
        page = admin_client.get(path).get_data(as_text=True)
        assert re.search(r'<html lang="(en|fr)">', page)
        assert_fields_labelled(page)
    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert 'role="img" aria-labelledby="chart-title"' in dashboard
