"""Journey 4: the manage link in every email after confirmation, and what it lets a signer do."""

from sqlalchemy import select

from app import signatures
from app.extensions import db
from app.manage import SELF_SERVICE
from app.models import AuditEvent
from helpers import csrf_token, deliver, link_in, press_button, sign, sign_and_confirm, signature_rows


def _confirmed_signer_email(client, app, smtp, **fields):
    """Sign, confirm, then sign again: the 'already signed' email is one sent after confirmation."""
    sign_and_confirm(client, app, smtp, email="ana@example.ca", **fields)
    sign(client, email="ana@example.ca")
    deliver(app)
    message = smtp.messages[-1]
    assert "already signed" in message["Subject"]
    return message


def test_confirmation_email_has_no_manage_link_but_later_emails_do(client, app, smtp):
    sign(client, email="ana@example.ca")
    deliver(app)
    assert "/manage/" not in smtp.messages[0].get_body(("plain",)).get_content()
    message = _confirmed_signer_email(client, app, smtp)
    assert link_in(message, "/manage/")
    assert "/manage/" in message.get_body(("html",)).get_content()


def test_stop_updates_takes_effect_at_once_and_keeps_the_signature_counted(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp, updates="y")
    manage = link_in(message, "/manage/")
    page = client.get(manage)
    assert page.status_code == 200 and "Stop updates" in page.get_data(as_text=True)
    response = client.post(f"{manage}/updates", data={"csrf_token": csrf_token(client, manage)})
    assert response.status_code == 303
    [row] = signature_rows(app)
    assert row.updates is False and row.updates_consented_at is None
    assert client.get("/api/count").get_json()["count"] == 1
    assert "no more updates" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_one_click_unsubscribe_header_works_without_cookies(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp, updates="y")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://petition.test/manage/") and url.endswith("/unsubscribe")
    provider = app.test_client()  # a mail provider: no session, no CSRF token
    response = provider.post(
        url.removeprefix("https://petition.test"), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert signature_rows(app)[0].updates is False


def test_hide_my_name_takes_it_off_the_public_list(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp, public="y", name="Visible Ana")
    assert "Visible Ana" in client.get("/signers").get_data(as_text=True)
    manage = link_in(message, "/manage/")
    client.post(f"{manage}/hide", data={"csrf_token": csrf_token(client, manage)})
    assert "Visible Ana" not in client.get("/signers").get_data(as_text=True)
    assert client.get("/api/count").get_json()["count"] == 1


def test_erase_me_deletes_everything_drops_the_count_and_kills_every_link(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp, public="y")
    manage = link_in(message, "/manage/")
    response = client.post(f"{manage}/erase", data={"csrf_token": csrf_token(client, manage)})
    assert response.status_code == 200
    assert "Your signature is erased" in response.get_data(as_text=True)
    assert signature_rows(app) == []
    assert client.get("/api/count").get_json()["count"] == 0
    assert client.get(manage).status_code == 404
    first_confirm = link_in(smtp.messages[0], "/confirm/")
    assert client.get(first_confirm).status_code == 404
    assert client.post(first_confirm, data={"csrf_token": csrf_token(client)}).status_code == 404
    assert client.get("/api/count").get_json()["count"] == 0


def test_manage_links_last_for_months_not_days(make_app, smtp):
    app = make_app(CONFIRM_MAX_AGE=-1, MANAGE_MAX_AGE=400 * 24 * 3600)
    client = app.test_client()
    sign(client, email="ana@example.ca")
    deliver(app)
    from sqlalchemy import update

    from app.extensions import db
    from app.models import Signature, utcnow

    with app.app_context():
        db.session.execute(update(Signature).values(confirmed_at=utcnow()))
        db.session.commit()
    sign(client, email="ana@example.ca")
    deliver(app)
    assert client.get(link_in(smtp.messages[-1], "/manage/")).status_code == 200


def test_a_tampered_manage_link_changes_nothing(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp, updates="y")
    manage = link_in(message, "/manage/") + "x"
    assert client.get(manage).status_code == 404
    assert client.post(f"{manage}/erase", data={"csrf_token": csrf_token(client)}).status_code == 404
    assert client.post(f"{manage}/unsubscribe").status_code == 404
    assert signature_rows(app)[0].updates is True


def test_manage_pages_redirects_and_errors_are_never_stored(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp, updates="y")
    manage = link_in(message, "/manage/")
    responses = {
        "page": client.get(manage),
        "tampered link": client.get(manage + "x"),
        "stop updates": client.post(f"{manage}/updates", data={"csrf_token": csrf_token(client, manage)}),
        "hide": client.post(f"{manage}/hide", data={"csrf_token": csrf_token(client, manage)}),
        "unsubscribe": app.test_client().post(f"{manage}/unsubscribe"),
        "erase": client.post(f"{manage}/erase", data={"csrf_token": csrf_token(client, manage)}),
        "erased link": client.get(manage),
    }
    assert responses["stop updates"].status_code == 303 and responses["erased link"].status_code == 404
    for what, response in responses.items():
        assert response.headers.get("Cache-Control") == "no-store", what


def test_hiding_or_erasing_a_signature_that_is_gone_is_a_404_and_is_not_audited(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp)
    [row] = signature_rows(app)
    with app.app_context():
        assert signatures.erase_signature(row.id, actor=SELF_SERVICE) is True
        assert signatures.hide_signature(row.id, actor=SELF_SERVICE) is False
        assert signatures.erase_signature(row.id, actor=SELF_SERVICE) is False
        assert [event.action for event in db.session.scalars(select(AuditEvent))] == ["erase"]
    manage = link_in(message, "/manage/")
    for action in ("hide", "erase"):
        assert client.post(f"{manage}/{action}", data={"csrf_token": csrf_token(client)}).status_code == 404


def test_the_unsubscribe_link_opened_in_a_browser_shows_one_button_that_unsubscribes(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp, updates="y")
    path = message["List-Unsubscribe"].strip("<>").removeprefix("https://petition.test")
    browser = app.test_client()
    page = browser.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"].startswith("no-store")
    html = page.get_data(as_text=True)
    assert html.count("<button") == 1 and f'action="{path}"' in html and "Unsubscribe" in html
    assert signature_rows(app)[0].updates is True, "opening the link changes nothing"
    response = press_button(browser, path)
    assert response.status_code == 200 and "no more updates" in response.get_data(as_text=True)
    assert signature_rows(app)[0].updates is False
    assert browser.get(path.replace("/manage/", "/manage/x")).status_code == 404


def test_the_unsubscribe_page_speaks_the_signers_language(client, app, smtp):
    message = _confirmed_signer_email(client, app, smtp, updates="y")
    path = message["List-Unsubscribe"].strip("<>").removeprefix("https://petition.test")
    html = app.test_client().get(path + "?lang=fr").get_data(as_text=True)
    assert "Me désabonner" in html and "Votre signature reste comptée." in html
