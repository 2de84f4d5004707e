"""Retention after the campaign: personal data goes, the count and the statistics stay."""

import datetime as dt
import tomllib

import pytest
from sqlalchemy import func, select

from app.campaign import CampaignError, parse_campaign
from app.clock import today
from app.config import DEMO_CAMPAIGN
from app.extensions import db
from app.jobs import Jobs
from app.models import AuditEvent, OutboxMessage, Signature
from app.tokens import MANAGE, make_token
from helpers import (
    campaign_text,
    change_campaign,
    deliver,
    link_in,
    press_button,
    sign,
    sign_and_confirm,
    signature_rows,
)

VALID = DEMO_CAMPAIGN.read_text(encoding="utf-8")  # no deadline


def _close(app, days_ago: int, retention_days: int = 30) -> None:
    """The campaign file with a deadline `days_ago` days back and `retention_days`."""
    deadline = today() - dt.timedelta(days=days_ago)
    change_campaign(app, deadline=deadline, retention_days=retention_days)


def _table(app):
    """Every signature's columns, as the database holds them."""
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(Signature.__table__)).all()]


def _sign_three(app, client, smtp) -> str:
    """Two confirmed signers (one listed, with a reason) and one pending; the pending one's
    "this wasn't me" link."""
    sign_and_confirm(
        client, app, smtp, name="Ana Tremblay", email="ana@example.ca", public="y", comment="Mine"
    )
    sign_and_confirm(client, app, smtp, name="Jo Smith", email="jo@example.org", country="FR", postal_code="")
    sign(client, name="Pat Lee", email="pat@example.net", postal_code="H2X 1Y4")
    deliver(app)
    return link_in(smtp.messages[-1], "/not-me/")


def test_anonymising_erases_personal_data_keeps_the_count_and_runs_once(
    app, client, runner, smtp, admin_client
):
    withdraw_link = _sign_three(app, client, smtp)
    _close(app, days_ago=40)

    result = runner.invoke(args=["signatures", "anonymise"])
    assert result.exit_code == 0 and "Anonymised 3 signatures" in result.output
    assert client.get("/api/count").get_json()["count"] == 2
    rows = signature_rows(app)
    assert [(row.postal_code, row.country, row.confirmed) for row in rows] == [
        ("K", "CA", True),
        ("", "FR", True),
        ("H", "CA", False),
    ]
    assert all(row.signed_at and row.anonymised_at for row in rows)
    dump = repr(_table(app))
    for personal in ("Ana", "Tremblay", "Jo Smith", "Pat", "example.", "Mine", "1Y4", "0B1"):
        assert personal not in dump
    assert len({row.email for row in rows}) == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "anonymise")).all()
        assert event.rows == 3 and "Ana" not in event.details

    before = _table(app)
    again = runner.invoke(args=["signatures", "anonymise"])
    assert again.exit_code == 0 and "Nothing to anonymise" in again.output
    assert _table(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "anonymise")) == 1

    with app.app_context():
        manage_link = f"/manage/{make_token(MANAGE, rows[0].id)}"
    assert client.get(manage_link).status_code == 404, "links act on nothing any more"
    assert press_button(client, withdraw_link).status_code == 404
    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert "Ontario" in dashboard and "were erased at the end of the retention period" in dashboard


def test_nothing_is_anonymised_before_the_retention_period_ends_and_the_dashboard_warns(
    app, client, runner, smtp, admin_client
):
    _sign_three(app, client, smtp)
    _close(app, days_ago=10)
    before = _table(app)
    assert "Nothing to anonymise" in runner.invoke(args=["signatures", "anonymise"]).output
    assert _table(app) == before
    assert "will be erased for good" in admin_client.get("/admin/").get_data(as_text=True)


def test_the_mail_worker_anonymises_once_due_and_looks_at_most_once_an_hour(app, client, smtp):
    _sign_three(app, client, smtp)
    _close(app, days_ago=40)
    deliverer = Jobs(app)
    assert deliverer.check_retention() == 3
    with app.app_context():
        db.session.execute(Signature.__table__.update().values(anonymised_at=None))
        db.session.commit()
    assert deliverer.check_retention() == 0, "not again within the hour"


@pytest.mark.parametrize(
    "text, message",
    [
        ("retention_days = 30\n" + VALID, "deadline"),
        ("retention_days = 3\n" + campaign_text(DEMO_CAMPAIGN, deadline=today()), "at least 7"),
    ],
)
def test_a_retention_without_deadline_or_shorter_than_the_late_confirmations_is_refused(text, message):
    with pytest.raises(CampaignError, match=message):
        parse_campaign(tomllib.loads(text))
