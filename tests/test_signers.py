"""The public list: confirmed signers who chose it, name and province only, paginated."""

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


def test_signers_are_paginated_newest_first(client, app):
    for number in range(55):
        make_signature(app, number, name=f"Signer {number:02}", public=True, confirmed_at=utcnow())
    first = client.get("/signers").get_data(as_text=True)
    assert "Signer 54" in first and "Signer 05" in first and "Signer 04" not in first
    assert 'rel="next" href="/signers?page=2"' in first
    second = client.get("/signers?page=2").get_data(as_text=True)
    assert "Signer 04" in second and "Signer 00" in second and 'rel="next"' not in second
    assert client.get("/signers?page=3").status_code == 404
    assert client.get("/signers?page=0").status_code == 404
    assert client.get("/signers?page=abc").status_code == 404


@pytest.mark.parametrize("page", ["²", "١", "٢", "１", "𝟐", "1²", " 1", "+1", "1_0"])
def test_a_page_number_in_anything_but_ascii_digits_is_a_404_not_a_500(client, page):
    assert client.get("/signers", query_string={"page": page}).status_code == 404
