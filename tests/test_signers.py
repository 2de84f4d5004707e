"""The public list: confirmed signers who chose it, name and province only, paginated."""

import re

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Signature, utcnow
from helpers import make_signature, sign


def _confirm_all(app):
    with app.app_context():
        db.session.execute(update(Signature).values(confirmed_at=utcnow()))
        db.session.commit()


def test_only_confirmed_signers_who_chose_public_are_listed_with_their_province(client, app):
    sign(client, name="Public Person", email="a@example.ca", postal_code="H2X 1Y4", public="y")
    sign(client, name="Private Person", email="b@example.ca", postal_code="V5K 0A1")
    _confirm_all(app)
    sign(client, name="Pending Person", email="c@example.ca", public="y")
    sign(client, name="Abroad Person", email="d@example.fr", country="FR", postal_code="75001", public="y")
    with app.app_context():
        db.session.execute(
            update(Signature).where(Signature.email == "d@example.fr").values(confirmed_at=utcnow())
        )
        db.session.commit()

    page = client.get("/signers").get_data(as_text=True)
    assert "Public Person" in page and "Quebec" in page
    assert "Abroad Person" in page and "France" in page
    assert "Private Person" not in page and "Pending Person" not in page
    assert "H2X" not in page and "@example" not in page and "75001" not in page


NEXT = re.compile(r'rel="next" href="(/signers\?cursor=[A-Za-z0-9._-]+)"')
PREVIOUS = re.compile(r'rel="prev" href="(/signers\?cursor=[A-Za-z0-9._-]+)"')


def test_signers_are_paginated_newest_first(client, app):
    for number in range(55):
        make_signature(app, number, name=f"Signer {number:02}", public=True, confirmed_at=utcnow())
    first = client.get("/signers").get_data(as_text=True)
    assert "Signer 54" in first and "Signer 05" in first and "Signer 04" not in first
    assert 'rel="prev"' not in first
    second = client.get(NEXT.search(first).group(1)).get_data(as_text=True)
    assert "Signer 04" in second and "Signer 00" in second and "Signer 05" not in second
    assert 'rel="next"' not in second
    back = client.get(PREVIOUS.search(second).group(1)).get_data(as_text=True)
    assert "Signer 54" in back and "Signer 05" in back and "Signer 04" not in back
    assert 'rel="prev"' not in back, "back on the first page"
    # The same page; only the language link differs, as it keeps the query it was asked with.
    same = client.get("/signers?page=1").get_data(as_text=True)
    assert same.replace("/signers?page=1&amp;lang=", "/signers?lang=") == first
    # Page numbers went with keyset pagination: a number past the first page leads nowhere.
    for page in ("2", "3", "0", "abc"):
        assert client.get(f"/signers?page={page}").status_code == 404


def _walk(client, start: str, link: re.Pattern) -> tuple[list[list[str]], str]:
    """The names on each page from `start` on, following `link`; and the last page's URL."""
    pages, url = [], start
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        pages.append(re.findall(r'<span class="name">([^<]+)</span>', html))
        found = link.search(html)
        last, url = url, found.group(1) if found else None
    return pages, last


def test_keyset_pages_list_everyone_once_in_order_even_when_confirmed_in_the_same_instant(client, app):
    same_instant = utcnow()
    for number in range(120):
        make_signature(app, number, name=f"Signer {number:03}", public=True, confirmed_at=same_instant)
    pages, last_url = _walk(client, "/signers", NEXT)
    assert [len(page) for page in pages] == [50, 50, 20]
    names = [name for page in pages for name in page]
    assert names == [f"Signer {number:03}" for number in reversed(range(120))], "newest (highest id) first"
    backwards, _first_url = _walk(client, last_url, PREVIOUS)
    assert backwards[0] == pages[-1] and backwards[-1] == pages[0]
    assert [name for page in reversed(backwards) for name in page] == names


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "a",
        "a.1",
        "a.1.2.3",
        "c.1.2",
        "a.1.x",
        "a.99999999999999999999.1",
        "a.-99999999999999999.1",
        "a.1.99999999999999999",
        "a.9999999999999999.1",
        "a.1e3.1",
        "a.².1",
        "a. 1.1",
        "a.1.1" + "0" * 500,
        "b.-9223372036854775808.1",
    ],
)
def test_a_cursor_the_list_did_not_make_is_a_404_not_a_500(client, app, cursor):
    make_signature(app, 0, public=True, confirmed_at=utcnow())
    assert client.get("/signers", query_string={"cursor": cursor}).status_code == 404


@pytest.mark.parametrize("page", ["²", "١", "٢", "１", "𝟐", "1²", " 1", "+1", "1_0"])
def test_a_page_number_in_anything_but_ascii_digits_is_a_404_not_a_500(client, page):
    assert client.get("/signers", query_string={"page": page}).status_code == 404
