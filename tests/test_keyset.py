"""Keyset pagination as any list may use it: text, time and number keys, either direction."""

import base64

import pytest
from sqlalchemy import select

from app.extensions import db
from app.keyset import AFTER, BadCursor, keyset_page, make_cursor
from app.models import Signature
from helpers import make_signature

BY_NAME = select(Signature.email)
NAME_THEN_ID = (Signature.name, Signature.id.desc())


def _walk(app, cursor=None, per_page=3) -> list[list[str]]:
    pages = []
    with app.app_context():
        while True:
            page = keyset_page(BY_NAME, NAME_THEN_ID, cursor, per_page)
            pages.append([email for (email,) in page.rows])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor


def test_a_text_key_pages_through_every_row_once_in_order_both_ways(app):
    names = ["Émile", "zoé", "Ana", "Ana", "Bo", "Ana", "Çelik", "bo", 'Ana, "Nana"', "李"]
    for number, name in enumerate(names):
        make_signature(app, number, name=name)
    with app.app_context():
        expected = list(db.session.scalars(BY_NAME.order_by(*NAME_THEN_ID)))
    pages = _walk(app)
    assert [email for page in pages for email in page] == expected
    assert all(len(page) == 3 for page in pages[:-1])
    with app.app_context():
        last = keyset_page(BY_NAME, NAME_THEN_ID, None, 3)
        second = keyset_page(BY_NAME, NAME_THEN_ID, last.next_cursor, 3)
        back = keyset_page(BY_NAME, NAME_THEN_ID, second.previous_cursor, 3)
    assert back.rows == last.rows and back.previous_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        make_cursor(AFTER, ["x"]),  # one key short
        "a." + base64.urlsafe_b64encode(b"\xff\xfe").decode() + ".1",  # not UTF-8
        "a." + base64.urlsafe_b64encode(b"Ana\x00").decode().rstrip("=") + ".1",  # NUL: PostgreSQL refuses it
        "a.!!!.1",
        "z.QW5h.1",
    ],
)
def test_a_cursor_that_is_not_ours_raises_bad_cursor(app, cursor):
    make_signature(app, 0, name="Ana")
    with app.app_context(), pytest.raises(BadCursor):
        keyset_page(BY_NAME, NAME_THEN_ID, cursor, 3)
