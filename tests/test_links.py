"""Journey 3 and the link rules: expired, tampered, used and withdrawn links; key rotation."""

from itsdangerous import URLSafeTimedSerializer

from app.tokens import CONFIRM, WITHDRAW
from helpers import TEST_SECRET_KEY, csrf_token, deliver, link_in, press_button, sign, signature_rows

OLD_KEY, NEW_KEY = "an-old-secret-key-retired-in-this-test-32+", "a-new-secret-key-taking-over-in-this-test"


def _signed_and_mailed(client, app, smtp, email="ana@example.ca"):
    sign(client, email=email)
    deliver(app)
    return smtp.messages[-1]


def test_expired_link_shows_a_clear_page_offering_to_resend(make_app, smtp):
    app = make_app(CONFIRM_MAX_AGE=-1)  # every link is already too old
    client = app.test_client()
    message = _signed_and_mailed(client, app, smtp)
    page = client.get(link_in(message, "/confirm/"))
    assert page.status_code == 410
    body = page.get_data(as_text=True)
    assert "This link has expired" in body
    assert 'action="/resend"' in body
    response = client.post(link_in(message, "/confirm/"), data={"csrf_token": csrf_token(client)})
    assert response.status_code == 410
    assert client.get("/api/count").get_json()["count"] == 0


def test_tampered_link_is_refused_and_counts_nothing(client, app, smtp):
    path = link_in(_signed_and_mailed(client, app, smtp), "/confirm/")
    tampered = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    page = client.get(tampered)
    assert page.status_code == 404
    assert "This link does not work" in page.get_data(as_text=True)
    assert client.post(tampered, data={"csrf_token": csrf_token(client)}).status_code == 404
    assert client.get("/api/count").get_json()["count"] == 0


def test_a_link_made_for_another_purpose_does_not_confirm(client, app, smtp):
    message = _signed_and_mailed(client, app, smtp)
    withdraw_token = link_in(message, "/not-me/").rsplit("/", 1)[1]
    assert client.get(f"/confirm/{withdraw_token}").status_code == 404
    assert (
        client.post(f"/confirm/{withdraw_token}", data={"csrf_token": csrf_token(client)}).status_code == 404
    )
    assert client.get("/api/count").get_json()["count"] == 0


def test_opening_a_used_confirm_link_again_leads_to_the_thank_you_page(client, app, smtp):
    path = link_in(_signed_and_mailed(client, app, smtp), "/confirm/")
    press_button(client, path)
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/thanks"


def test_this_wasnt_me_deletes_the_pending_signature_and_kills_its_links(client, app, smtp):
    message = _signed_and_mailed(client, app, smtp)
    page = client.get(link_in(message, "/not-me/"))
    assert page.status_code == 200
    assert signature_rows(app), "opening the link must not delete anything"

    response = press_button(client, link_in(message, "/not-me/"))
    assert response.status_code == 200
    assert "Signature removed" in response.get_data(as_text=True)
    assert signature_rows(app) == []

    # The confirm link of a withdrawn signature never brings it back, even after re-signing.
    sign(client, email="ana@example.ca")
    confirm = client.get(link_in(message, "/confirm/"))
    assert confirm.status_code == 404
    assert client.get(link_in(message, "/not-me/")).status_code == 404
    assert client.get("/api/count").get_json()["count"] == 0
    assert len(signature_rows(app)) == 1


def test_this_wasnt_me_cannot_remove_a_confirmed_signature(client, app, smtp):
    message = _signed_and_mailed(client, app, smtp)
    press_button(client, link_in(message, "/confirm/"))
    page = client.get(link_in(message, "/not-me/"))
    assert "already confirmed" in page.get_data(as_text=True)
    response = client.post(link_in(message, "/not-me/"), data={"csrf_token": csrf_token(client)})
    assert "already confirmed" in response.get_data(as_text=True)
    assert client.get("/api/count").get_json()["count"] == 1


def test_ids_of_deleted_signatures_are_never_reused(client, app, smtp):
    first = _signed_and_mailed(client, app, smtp, email="first@example.ca")
    press_button(client, link_in(first, "/not-me/"))
    sign(client, email="second@example.ca")
    # Had the new row taken the old id, the withdrawn signer's link would confirm a stranger.
    assert client.get(link_in(first, "/confirm/")).status_code == 404


def test_links_signed_with_a_rotated_key_work_while_it_is_a_fallback(make_app, smtp):
    old = make_app(SECRET_KEY=OLD_KEY)
    client = old.test_client()
    message = _signed_and_mailed(client, old, smtp)
    path = link_in(message, "/confirm/")

    rotated = make_app(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]).test_client()
    assert rotated.get(path).status_code == 200
    forgotten = make_app(SECRET_KEY=NEW_KEY).test_client()
    assert forgotten.get(path).status_code == 404


def test_tokens_carry_nothing_but_a_signed_id(app):
    with app.app_context():
        from app.tokens import make_token

        token = make_token(CONFIRM, 42)
    payload = URLSafeTimedSerializer(TEST_SECRET_KEY, salt=CONFIRM).loads(token)
    assert payload == 42
    assert "@" not in token


def test_a_signed_token_holding_something_other_than_an_id_is_refused(client, app):
    forged = URLSafeTimedSerializer(TEST_SECRET_KEY, salt=WITHDRAW).dumps("1 OR 1=1")
    assert client.get(f"/not-me/{forged}").status_code == 404


def test_resend_sends_the_link_again_to_a_pending_address(client, app, smtp):
    _signed_and_mailed(client, app, smtp)
    response = client.post(
        "/resend", data={"email": " ANA@example.ca", "csrf_token": csrf_token(client, "/check-inbox")}
    )
    assert response.status_code == 303
    deliver(app)
    assert len(smtp.messages) == 2
    assert "/confirm/" in smtp.messages[1].get_body(("plain",)).get_content()


def test_resend_never_reveals_whether_an_address_is_known(client, app, smtp):
    _signed_and_mailed(client, app, smtp)
    known = client.post(
        "/resend",
        data={"email": "ana@example.ca", "csrf_token": csrf_token(client, "/check-inbox")},
        follow_redirects=True,
    )
    unknown = client.post(
        "/resend",
        data={"email": "nobody@example.ca", "csrf_token": csrf_token(client, "/check-inbox")},
        follow_redirects=True,
    )
    import re

    strip = lambda page: re.sub(r'value="[^"]+"', "", page.get_data(as_text=True))  # noqa: E731
    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    deliver(app)
    assert [m["To"] for m in smtp.messages] == ["ana@example.ca", "ana@example.ca"]


def test_resend_with_a_malformed_address_explains_the_problem(client, app):
    response = client.post(
        "/resend", data={"email": "nope", "csrf_token": csrf_token(client, "/check-inbox")}
    )
    assert response.status_code == 422
    assert "Enter an email address like name@example.com." in response.get_data(as_text=True)


def test_link_pages_their_redirects_and_their_errors_are_never_stored(client, app, smtp):
    sign(client)
    deliver(app)
    [message] = smtp.messages
    confirm, withdraw = link_in(message, "/confirm/"), link_in(message, "/not-me/")
    responses = {
        "confirm page": client.get(confirm),
        "withdraw page": client.get(withdraw),
        "bad confirm link": client.get("/confirm/not-a-token"),
        "bad withdraw link": client.get("/not-me/not-a-token"),
        "confirming": press_button(client, confirm),
        "confirmed link again": client.get(confirm),
        "withdrawing a confirmed signature": client.post(withdraw, data={"csrf_token": csrf_token(client)}),
    }
    assert responses["confirming"].status_code == responses["confirmed link again"].status_code == 303
    for what, response in responses.items():
        assert response.headers.get("Cache-Control") == "no-store", what
