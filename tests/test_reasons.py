"""Why people sign: public signers' comments show once an organizer approves them, never before."""

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Signature
from app.tokens import MANAGE, make_token
from helpers import change_campaign, csrf_token, make_signature

REASON = "<b>My kids</b> deserve privacy"
ESCAPED = "&lt;b&gt;My kids&lt;/b&gt; deserve privacy"


def _show_reasons(app, on: bool = True) -> None:
    """The campaign file with `show_reasons = true`."""
    change_campaign(app, show_reasons=on)


def _review(client, signature_id: int, verdict: str):
    return client.post(
        f"/admin/reasons/{signature_id}/{verdict}", data={"csrf_token": csrf_token(client, "/admin/")}
    )


def test_an_approved_reason_shows_escaped_on_the_page_and_the_list(app, admin_client):
    _show_reasons(app)
    signature = make_signature(app, 1, public=True, comment=REASON, name="Ana")
    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert "Reasons waiting for approval" in dashboard and ESCAPED in dashboard
    assert ESCAPED not in admin_client.get("/signers").get_data(as_text=True)

    response = _review(admin_client, signature.id, "approve")
    assert response.status_code == 303
    for path in ("/signers", "/"):
        html = admin_client.get(path).get_data(as_text=True)
        assert "Why people sign" in html and ESCAPED in html and REASON not in html
    assert ESCAPED not in admin_client.get("/admin/").get_data(as_text=True), "no longer waiting"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "approve reason"))
        assert (event.actor, event.rows) == ("organizer@example.org", 1)
        assert "Ana" not in event.details and "kids" not in event.details


def test_a_rejected_reason_stays_hidden_and_the_signature_stays_counted(app, admin_client):
    _show_reasons(app)
    signature = make_signature(app, 1, public=True, comment=REASON)
    assert _review(admin_client, signature.id, "reject").status_code == 303
    assert ESCAPED not in admin_client.get("/signers").get_data(as_text=True)
    assert ESCAPED not in admin_client.get("/admin/").get_data(as_text=True), "no longer waiting"
    with app.app_context():
        kept = db.session.get(Signature, signature.id)
        assert kept.confirmed and kept.comment == REASON
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "reject reason"))


def test_reasons_are_off_unless_the_campaign_file_turns_them_on(app, admin_client):
    signature = make_signature(app, 1, public=True, comment=REASON)
    assert "Reasons waiting for approval" not in admin_client.get("/admin/").get_data(as_text=True)
    _show_reasons(app)
    _review(admin_client, signature.id, "approve")
    _show_reasons(app, on=False)
    assert ESCAPED not in admin_client.get("/signers").get_data(as_text=True)


def test_only_a_confirmed_public_signers_comment_can_be_approved(app, admin_client):
    _show_reasons(app)
    private = make_signature(app, 1, public=False, comment=REASON)
    pending = make_signature(app, 2, public=True, comment=REASON, confirmed_at=None)
    for signature in (private, pending):
        assert _review(admin_client, signature.id, "approve").status_code == 404
    assert _review(admin_client, 999_999, "reject").status_code == 404
    assert ESCAPED not in admin_client.get("/admin/").get_data(as_text=True)
    assert ESCAPED not in admin_client.get("/signers").get_data(as_text=True)


def test_a_visitor_cannot_approve_a_reason(app, client):
    _show_reasons(app)
    signature = make_signature(app, 1, public=True, comment=REASON)
    response = client.post(
        f"/admin/reasons/{signature.id}/approve", data={"csrf_token": csrf_token(client, "/check-inbox")}
    )
    assert response.status_code in (302, 303)
    with app.app_context():
        assert db.session.get(Signature, signature.id).comment_approved_at is None


def test_hiding_the_name_through_the_manage_link_hides_the_reason_too(app, admin_client, client):
    _show_reasons(app)
    signature = make_signature(app, 1, public=True, comment=REASON)
    _review(admin_client, signature.id, "approve")
    assert ESCAPED in client.get("/signers").get_data(as_text=True)
    with app.app_context():
        token = make_token(MANAGE, signature.id)
    manage = f"/manage/{token}"
    client.post(f"{manage}/hide", data={"csrf_token": csrf_token(client, manage)})
    assert ESCAPED not in client.get("/signers").get_data(as_text=True)


def test_the_sign_form_says_the_comment_may_be_shown_when_reasons_are_on(app, client):
    listed_alone = "Show my name and province in the public list of signers<"
    assert listed_alone in client.get("/").get_data(as_text=True)
    _show_reasons(app)
    page = client.get("/").get_data(as_text=True)
    assert "and my comment once an organizer has read it" in page
    assert listed_alone not in page
