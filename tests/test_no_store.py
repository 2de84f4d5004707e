"""Every page that shows a person's data, and every error page, is sent `Cache-Control: no-store`:
no shared cache keeps it, and no browser shows it again from its history to the next person.
(The manage pages are checked in test_self_service, the organizer's in test_admin.)"""

import re
import sys

import pytest

from helpers import (
    LETTER_CAMPAIGN,
    OPEN_LETTER,
    confirm_letter,
    csrf_token,
    deliver,
    link_in,
    sign,
    step_two,
    write_letter,
)


def assert_not_stored(responses: dict) -> None:
    for what, response in responses.items():
        assert response.headers.get("Cache-Control") == "no-store", (what, response.status_code)


def test_a_letters_write_and_thanks_pages_are_never_stored(make_app, smtp):
    app = make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN))
    client = app.test_client()
    responses = {"write": step_two(client)}
    write_letter(client)
    confirmed = confirm_letter(client, app, smtp)
    thanks = client.get(confirmed.headers["Location"])
    assert "Ana Tremblay" in thanks.get_data(as_text=True), "the writer is named on it"
    assert_not_stored({**responses, "confirmed": confirmed, "thanks": thanks})


def test_a_petitions_thanks_and_confirm_pages_are_never_stored(app, client, smtp):
    sign(client, email="ana@example.ca")
    deliver(app)
    confirm = link_in(smtp.messages[-1], "/confirm/")
    page = client.get(confirm)
    pressed = client.post(confirm, data={"csrf_token": csrf_token(client, confirm)})
    assert_not_stored({"confirm page": page, "pressed": pressed, "thanks": client.get("/thanks")})


def test_the_development_mail_viewer_is_never_stored(make_app):
    development = make_app(DEVELOPMENT=True, MAIL_SERVER=None)
    client = development.test_client()
    sign(client, email="cy@example.ca")
    deliver(development)
    inbox = client.get("/_dev/mail/")
    key = re.search(r'href="/_dev/mail/([^"?]+)"', inbox.get_data(as_text=True)).group(1)
    assert_not_stored({"inbox": inbox, "message": client.get(f"/_dev/mail/{key}")})


def test_every_error_page_is_never_stored(make_app):
    app = make_app(RATELIMIT_SIGN="1 per minute")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    refused = client.post(
        "/sign", data={"name": "Dee", "email": "not an address", "csrf_token": csrf_token(client)}
    )
    assert refused.status_code == 422 and "Dee" in refused.get_data(as_text=True)
    responses = {
        "refused form": refused,
        "over the limit": sign(client, email="dee@example.ca"),
        "no CSRF token": client.post("/resend", data={"email": "dee@example.ca"}),
        "not found": client.get("/no-such-page"),
        "wrong method": client.put("/"),
        "unknown confirm link": client.get("/confirm/not-a-token"),
    }
    assert sorted(response.status_code for response in responses.values()) == [400, 404, 404, 405, 422, 429]
    assert_not_stored(responses)


def test_the_letter_pdfs_error_pages_are_never_stored(make_app, monkeypatch):
    app = make_app(CAMPAIGN_FILE=str(OPEN_LETTER))
    client = app.test_client()
    # As on a server without WeasyPrint (or the Pango it loads): the import fails, the PDF is a 503.
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    unavailable = client.get("/letter.pdf")
    assert unavailable.status_code == 503
    assert_not_stored({"no PDF now": unavailable, "no such PDF": client.get("/letter.pdf/x")})


@pytest.mark.parametrize("path", ["/", "/signers", "/api/count"])
def test_public_pages_without_anyones_data_stay_cacheable(client, path):
    assert client.get(path).headers.get("Cache-Control") != "no-store"
