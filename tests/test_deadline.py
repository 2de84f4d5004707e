"""After the deadline: the page says the campaign is closed, signing is refused, late confirmations count."""

import dataclasses
import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest

from app.campaign import CONFIRMATION_GRACE, CampaignError, parse_campaign
from app.clock import utcnow
from app.config import DEMO_CAMPAIGN
from helpers import (
    campaign_text,
    change_campaign,
    csrf_token,
    deliver,
    home_campaign,
    link_in,
    press_button,
    sign,
    signature_rows,
)

TORONTO = ZoneInfo("America/Toronto")
VALID = campaign_text(DEMO_CAMPAIGN, deadline=dt.date(2020, 1, 31))


def _close(app, days_ago: int = 1, **changes) -> None:
    """Move the campaign's deadline `days_ago` days into the past, as an edited campaign file would."""
    deadline = utcnow().astimezone(TORONTO).date() - dt.timedelta(days=days_ago)
    change_campaign(app, deadline=deadline, **changes)


def press_button_status(client, path: str) -> int:
    """Press a confirm button without first opening its page (the page no longer has the form)."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/check-inbox")}).status_code


def test_signing_closes_at_the_end_of_the_deadline_day_in_the_campaign_time_zone(app):
    campaign = dataclasses.replace(home_campaign(app), deadline=dt.date(2027, 6, 30))
    last_minute = dt.datetime(2027, 6, 30, 23, 59, tzinfo=TORONTO)
    assert campaign.is_open(last_minute)
    assert not campaign.is_open(last_minute + dt.timedelta(minutes=1))
    assert campaign.closes_at() == dt.datetime(2027, 7, 1, 4, 0, tzinfo=dt.UTC)
    vancouver = dataclasses.replace(campaign, timezone="America/Vancouver")
    assert vancouver.is_open(last_minute + dt.timedelta(minutes=1))
    assert dataclasses.replace(campaign, deadline=None).is_open()


def test_a_campaign_file_with_an_unknown_time_zone_is_refused(app):
    data = tomllib.loads('timezone = "Mars/Olympus"\n' + VALID)
    with pytest.raises(CampaignError, match="timezone"):
        parse_campaign(data)
    assert parse_campaign(tomllib.loads(VALID)).timezone == "America/Toronto"


def test_the_closed_page_shows_the_final_count_and_the_list_but_no_form(app, client):
    _close(app)
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This petition is closed" in html
    assert 'action="/sign' not in html and 'name="email"' not in html
    assert 'href="/signers"' in html
    assert "Final count" in html


def test_the_page_cache_tells_an_open_campaign_from_a_closed_one(app, client):
    assert 'action="/sign' in client.get("/").get_data(as_text=True)
    _close(app)
    assert 'action="/sign' not in client.get("/").get_data(as_text=True)


def test_signing_after_the_deadline_is_refused_in_the_signers_language_and_stores_nothing(app, client):
    _close(app)
    data = {"name": "Ana", "email": "late@example.ca", "postal_code": "K1A 0B1", "country": "CA"}
    response = client.post(
        "/sign",
        data={**data, "csrf_token": csrf_token(client, "/check-inbox")},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 410
    assert '<html lang="fr"' in response.get_data(as_text=True)
    assert signature_rows(app) == []


def test_a_signature_made_before_the_deadline_is_counted_when_confirmed_after_it(app, client, smtp):
    sign(client, email="last-minute@example.ca")
    deliver(app)
    _close(app)
    confirm_path = link_in(smtp.messages[-1], "/confirm/")
    assert press_button(client, confirm_path).status_code == 303
    assert client.get("/api/count").get_json()["count"] == 1


def test_resending_after_the_deadline_sends_the_link_again_to_a_pending_signer(app, client, smtp):
    sign(client, email="pending@example.ca")
    deliver(app)
    _close(app)
    token = csrf_token(client, "/check-inbox")
    client.post("/resend", data={"email": "pending@example.ca", "csrf_token": token})
    deliver(app)
    assert len(smtp.messages) == 2
    assert press_button(client, link_in(smtp.messages[-1], "/confirm/")).status_code == 303
    assert client.get("/api/count").get_json()["count"] == 1


def test_a_confirmation_link_stops_working_a_week_after_the_deadline(app, client, smtp):
    sign(client, email="too-late@example.ca")
    deliver(app)
    _close(app, days_ago=CONFIRMATION_GRACE.days + 1)
    confirm_path = link_in(smtp.messages[-1], "/confirm/")
    assert client.get(confirm_path).status_code == 410
    assert press_button_status(client, confirm_path) == 410
    assert client.get("/api/count").get_json()["count"] == 0


def test_the_count_the_list_and_the_export_stay_after_the_deadline(app, admin_client):
    _close(app)
    assert admin_client.get("/api/count").status_code == 200
    assert admin_client.get("/signers").status_code == 200
    assert admin_client.get("/admin/").status_code == 200
    assert admin_client.get("/admin/export.csv").status_code == 200


def test_campaign_check_warns_of_a_past_deadline_without_failing(runner, tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_text(VALID, encoding="utf-8")
    result = runner.invoke(args=["campaign", "check", str(path)])
    assert result.exit_code == 0
    assert "valid" in result.output
    assert "deadline 2020-01-31 has passed" in result.output


def test_the_partners_widget_stops_asking_people_to_sign_once_closed(app, client):
    assert "Sign the petition" in client.get("/embed").get_data(as_text=True)
    _close(app)
    widget = client.get("/embed").get_data(as_text=True)
    assert "Sign the petition" not in widget
    assert "See who signed" in widget
