"""Many campaigns in one deployment: each at its own address, and nothing of one leaks into another.

Two campaigns of different kinds share one database: the demo petition (the app's
CAMPAIGN_FILE, so also at the root addresses) and the test open letter, imported with the
command line at /coalition/. The same people sign both.
"""

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from app import campaigns
from app.campaigns import campaign_scope
from app.clock import today
from app.config import DEMO_CAMPAIGN
from app.extensions import db
from app.kinds.open_letter.models import Signatory
from app.models import AuditEvent, Campaign, CampaignRevision, LetterPdf, Signature, SignatureTally
from app.retention import anonymise_due
from app.signatures import purge_unconfirmed
from helpers import (
    INDIVIDUAL,
    OPEN_LETTER,
    PUBLIC_URL,
    add_organizer,
    ago,
    build_pdfs,
    csrf_token,
    deliver,
    link_in,
    log_in,
    press_button,
    press_manage_button,
    signature_rows,
)

PETITION, LETTER = "demo", "coalition"
SHARED = "shared@example.ca"  # an address that signs both


@pytest.fixture
def two(app, runner):
    """The app with the open letter imported beside its own petition."""
    result = runner.invoke(args=["campaign", "import", str(OPEN_LETTER), "--slug", LETTER])
    assert result.exit_code == 0, result.output
    assert f"Campaign {LETTER} created (revision 1)" in result.output
    return app


def sign_at(client, slug: str, **fields):
    """The sign form of the campaign at /<slug>/, filled in and sent."""
    data = {
        "name": "Sam Shared",
        "email": SHARED,
        "postal_code": "K1A 0B1",
        "country": "CA",
        "csrf_token": csrf_token(client, f"/{slug}/"),
        **fields,
    }
    return client.post(f"/{slug}/sign", data=data)


def mail_to(smtp, address: str, title: str):
    """The last email to `address` about the campaign of this title."""
    return [m for m in smtp.messages if m["To"] == address and title in m["Subject"]][-1]


def rows_of(app, slug: str) -> list:
    """The campaign's signatures, each with its kind's own columns."""
    with app.app_context():
        campaign_id = campaigns.registry().by_slug[slug].id
    return [row for row in signature_rows(app) if row.campaign_id == campaign_id]


def count_of(client, slug: str) -> int:
    return client.get(f"/{slug}/api/count").get_json()["count"]


def signed_both(two, client, smtp) -> dict:
    """SHARED signs both campaigns and confirms both from the emails; their links, by slug."""
    assert sign_at(client, PETITION, public="y").status_code == 303
    assert sign_at(client, LETTER, **{**INDIVIDUAL, "email": SHARED, "name": "Sam Shared"}).status_code == 303
    deliver(two)
    links = {}
    for slug, title in ((PETITION, "facial recognition in Canada"), (LETTER, "Open letter")):
        message = mail_to(smtp, SHARED, title)
        links[slug] = {
            "confirm": link_in(message, f"/{slug}/confirm/"),
            "withdraw": link_in(message, f"/{slug}/not-me/"),
        }
        assert press_button(client, links[slug]["confirm"]).status_code == 303
    return links


def test_the_command_line_imports_lists_and_exports_campaigns(two, runner, tmp_path):
    listed = runner.invoke(args=["campaign", "list"]).output
    assert "demo" in listed and "petition" in listed and LETTER in listed and "open_letter" in listed
    exported = tmp_path / "coalition.toml"
    assert runner.invoke(args=["campaign", "export", LETTER, str(exported)]).exit_code == 0
    assert exported.read_text() == OPEN_LETTER.read_text()

    again = runner.invoke(args=["campaign", "import", str(exported), "--slug", LETTER])
    assert "unchanged (revision 1)" in again.output
    exported.write_text(exported.read_text().replace("Open letter on police", "Open letter against police"))
    changed = runner.invoke(args=["campaign", "import", str(exported), "--slug", LETTER])
    assert "updated to revision 2" in changed.output
    with two.app_context():
        assert db.session.scalar(select(CampaignRevision.number).order_by(CampaignRevision.id.desc())) == 2
    petition_as_letter = runner.invoke(args=["campaign", "import", str(DEMO_CAMPAIGN), "--slug", LETTER])
    assert petition_as_letter.exit_code != 0 and "its kind cannot change" in petition_as_letter.output
    for bad in ("Coalition", "admin", "sign", "two--hyphens", "é"):
        refused = runner.invoke(args=["campaign", "import", str(OPEN_LETTER), "--slug", bad])
        assert refused.exit_code != 0 and "slug" in refused.output, bad


def test_each_campaign_lives_at_its_own_address_and_the_root_lists_them(two, client):
    assert "Ban police use of facial recognition" in client.get(f"/{PETITION}/").get_data(as_text=True)
    letter_page = client.get(f"/{LETTER}/").get_data(as_text=True)
    assert "Open letter on police facial recognition" in letter_page
    assert f'action="/{LETTER}/sign"' in letter_page
    assert client.get("/nowhere/").status_code == 404
    assert client.get(f"/{LETTER}/write").status_code == 404, "a letter campaign's route"
    assert client.get(f"/{PETITION}/letter.pdf").status_code == 404, "an open letter's route"
    assert client.get(f"/{LETTER}/letter.pdf").status_code in (200, 503)

    index = client.get("/?lang=en").get_data(as_text=True)
    assert "Our campaigns" in index
    assert f'href="/{PETITION}/"' in index and f'href="/{LETTER}/"' in index
    assert "Nos campagnes" in client.get("/?lang=fr").get_data(as_text=True)
    assert 'href="/signers"' not in index, "the organization's page is no one campaign's"
    # The petition is the deployment's own (CAMPAIGN_FILE): its root addresses keep working.
    assert client.get("/signers").status_code == 200
    assert client.get("/api/count").get_json() == client.get(f"/{PETITION}/api/count").get_json()


def test_one_address_signs_two_campaigns_each_counted_where_it_belongs(two, client, smtp):
    links = signed_both(two, client, smtp)
    assert len(rows_of(two, PETITION)) == len(rows_of(two, LETTER)) == 1
    assert count_of(client, PETITION) == 1
    assert count_of(client, LETTER) == 0, "an open letter counts its signatories once approved"
    # A link of one campaign does nothing at another.
    for slug, other in ((PETITION, LETTER), (LETTER, PETITION)):
        foreign = links[slug]["confirm"].replace(f"/{slug}/", f"/{other}/")
        assert client.get(foreign).status_code == 404
    assert client.get(f"/{PETITION}/api/count").get_json()["count"] == 1


def test_the_manage_link_manages_one_signature_and_erasing_it_leaves_the_other(two, client, smtp):
    signed_both(two, client, smtp)
    # Signing again once counted mails the manage link, of that campaign's signature alone.
    assert sign_at(client, PETITION).status_code == 303
    assert sign_at(client, LETTER, **{**INDIVIDUAL, "email": SHARED}).status_code == 303
    deliver(two)
    manage = {
        slug: link_in(mail_to(smtp, SHARED, title), f"/{slug}/manage/")
        for slug, title in ((PETITION, "signed: Ban police"), (LETTER, "signed: Open letter"))
    }
    assert manage[PETITION] != manage[LETTER].replace(f"/{LETTER}/", f"/{PETITION}/")
    assert client.get(manage[PETITION].replace(f"/{PETITION}/", f"/{LETTER}/")).status_code == 404
    assert press_manage_button(client, manage[PETITION], "erase").status_code in (200, 303)
    assert rows_of(two, PETITION) == []
    assert [row.email for row in rows_of(two, LETTER)] == [SHARED]
    assert client.get(manage[LETTER]).status_code == 200
    assert client.get(manage[PETITION]).status_code == 404


def test_exports_dashboards_and_moderation_stay_within_their_campaign(two, client, smtp, runner, tmp_path):
    signed_both(two, client, smtp)
    add_organizer(two)
    organizer = two.test_client()
    assert log_in(organizer).status_code == 303

    overview = organizer.get("/admin/?lang=en").get_data(as_text=True)
    assert (
        "All campaigns" in overview and f"/admin/{PETITION}/" in overview and f"/admin/{LETTER}/" in overview
    )
    dashboard = organizer.get(f"/admin/{LETTER}/?lang=en").get_data(as_text=True)
    assert "Open letter on police facial recognition" in dashboard
    assert 'href="/admin/">All campaigns' in dashboard
    assert f'href="/admin/{LETTER}/signers"' in dashboard, "the menu stays within the campaign"
    for slug, kind_columns in ((PETITION, ()), (LETTER, ("signatory_type",))):
        export = organizer.get(f"/admin/{slug}/export.csv?status=all")
        assert export.status_code == 200
        rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
        assert [row["email"] for row in rows] == [SHARED]
        assert [row["id"] for row in rows] == [str(rows_of(two, slug)[0].id)]
        assert all(column in rows[0] for column in kind_columns)
    letter_id = rows_of(two, LETTER)[0].id
    petition_id = rows_of(two, PETITION)[0].id
    # Moderation of the letter never touches the petition's row, even given its id.
    moderated = organizer.post(
        f"/admin/{LETTER}/signatures/{petition_id}/approve",
        data={"csrf_token": csrf_token(organizer, f"/admin/{LETTER}/")},
    )
    assert moderated.status_code in (303, 404)
    with two.app_context():  # a petition's signature has no signatory row to approve
        assert db.session.get(Signatory, petition_id) is None
    assert (
        organizer.post(
            f"/admin/{LETTER}/signatures/{letter_id}/approve",
            data={"csrf_token": csrf_token(organizer, f"/admin/{LETTER}/")},
        ).status_code
        == 303
    )
    assert count_of(client, LETTER) == 1 and count_of(client, PETITION) == 1
    erased_elsewhere = organizer.post(
        f"/admin/{PETITION}/signers/{letter_id}/erase",
        data={"csrf_token": csrf_token(organizer, f"/admin/{PETITION}/")},
    )
    assert erased_elsewhere.status_code == 404 and rows_of(two, LETTER)

    across = tmp_path / "all.csv"
    assert runner.invoke(args=["signatures", "export", str(across), "--status", "all"]).exit_code == 0
    lines = list(csv.DictReader(io.StringIO(across.read_text(encoding="utf-8"))))
    assert sorted(row["campaign"] for row in lines) == sorted([PETITION, LETTER])
    one = tmp_path / "one.csv"
    assert runner.invoke(args=["signatures", "export", str(one), "--campaign", LETTER]).exit_code == 0
    assert "signatory_type" in one.read_text().splitlines()[0] and "campaign" not in one.read_text()
    with two.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
        letter = campaigns.registry().by_slug[LETTER]
        assert {event.campaign_id for event in events} == {
            None,
            letter.id,
            campaigns.registry().by_slug[PETITION].id,
        }


def test_tallies_pdfs_purge_and_retention_belong_to_one_campaign(two, client, smtp):
    signed_both(two, client, smtp)
    assert sign_at(client, PETITION, email="pending@example.ca").status_code == 303
    assert sign_at(client, LETTER, **{**INDIVIDUAL, "email": "pending@example.ca"}).status_code == 303
    with two.app_context():
        registry = campaigns.registry()
        petition, letter = registry.by_slug[PETITION], registry.by_slug[LETTER]
        tallies = db.session.execute(
            select(SignatureTally.campaign_id, SignatureTally.signed).where(SignatureTally.facet == "all")
        ).all()
        assert {row.campaign_id for row in tallies} == {petition.id, letter.id}
    build_pdfs(two)
    with two.app_context():
        assert {row.campaign_id for row in db.session.scalars(select(LetterPdf))} <= {letter.id}

    # Purging the petition's old pending signatures leaves the letter's.
    with two.app_context(), campaign_scope(petition):
        db.session.execute(
            Signature.__table__.update()
            .where(Signature.email == "pending@example.ca")
            .values(signed_at=ago(days=40))
        )
        db.session.commit()
        assert purge_unconfirmed(30, "test") == 1
    assert [row.email for row in rows_of(two, LETTER) if row.confirmed_at is None] == ["pending@example.ca"]

    # The letter's retention runs out; the petition's signers keep their data.
    registry = two.extensions["campaigns"]
    ended = dataclass_replace(letter, deadline=today() - dt.timedelta(days=40), retention_days=30)
    registry.by_id[letter.id] = registry.by_slug[LETTER] = ended
    with two.app_context():
        with campaign_scope(petition):
            assert anonymise_due("test") == 0
        with campaign_scope(ended):
            assert anonymise_due("test") == 2
    assert all(row.email == SHARED for row in rows_of(two, PETITION))
    assert all(row.anonymised_at is not None for row in rows_of(two, LETTER))


def dataclass_replace(campaign, **changes):
    import dataclasses

    return dataclasses.replace(campaign, **changes)


def test_emails_link_to_their_campaigns_address_and_name_it(two, client, smtp):
    assert sign_at(client, LETTER, **{**INDIVIDUAL, "email": SHARED}).status_code == 303
    deliver(two)
    message = mail_to(smtp, SHARED, "Open letter")
    assert f"{PUBLIC_URL}/{LETTER}/confirm/" in str(message.get_body(("plain",)).get_content())
    assert "/confirm/" in link_in(message, f"/{LETTER}/confirm/")


def test_a_renamed_campaign_keeps_its_old_address_as_a_redirect(two, client):
    with two.app_context():
        letter = campaigns.registry().by_slug[LETTER]
        campaigns.rename(letter.id, "coalition-2027")
        campaigns.registry().refresh(force=True)
    moved = client.get(f"/{LETTER}/signers?lang=fr")
    assert moved.status_code == 308
    assert moved.headers["Location"].endswith("/coalition-2027/signers?lang=fr")
    assert client.get("/coalition-2027/").status_code == 200


def test_a_draft_is_only_for_organizers_and_one_campaign_needs_no_index(app, runner, client):
    result = runner.invoke(args=["campaign", "import", str(OPEN_LETTER), "--slug", "later", "--draft"])
    assert result.exit_code == 0
    assert client.get("/later/").status_code == 404
    # One published campaign: the root is still the campaign itself, as before.
    assert "Ban police use of facial recognition" in client.get("/?lang=en").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Campaign.state).where(Campaign.slug == "later")) == "draft"


def test_stopping_all_email_from_the_organization_stops_updates_in_every_campaign(two, client, smtp):
    other = "other@example.ca"
    assert sign_at(client, PETITION, updates="y").status_code == 303
    for address in (SHARED, other):
        assert sign_at(client, LETTER, **{**INDIVIDUAL, "email": address, "updates": "y"}).status_code == 303
    deliver(two)
    press_button(client, link_in(mail_to(smtp, SHARED, "recognition in Canada"), f"/{PETITION}/confirm/"))
    for address in (SHARED, other):
        press_button(client, link_in(mail_to(smtp, address, "Open letter"), f"/{LETTER}/confirm/"))
    assert sign_at(client, PETITION).status_code == 303  # signed already: the manage link comes
    deliver(two)
    manage = link_in(mail_to(smtp, SHARED, "signed: Ban police"), f"/{PETITION}/manage/")
    assert "Stop all email from this organization" in client.get(manage).get_data(as_text=True)
    assert press_manage_button(client, manage, "all-updates").status_code == 303
    assert [row.updates for row in rows_of(two, PETITION)] == [False]
    assert {row.email: row.updates for row in rows_of(two, LETTER)} == {SHARED: False, other: True}


def test_a_signers_rate_limit_at_one_campaign_leaves_the_others_alone(make_app):
    app = make_app(RATELIMIT_SIGN="2 per minute")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["campaign", "import", str(OPEN_LETTER), "--slug", LETTER]).exit_code == 0
    client = app.test_client()
    for number in range(2):
        assert sign_at(client, PETITION, email=f"s{number}@example.ca").status_code == 303
    assert sign_at(client, PETITION, email="s3@example.ca").status_code == 429
    assert sign_at(client, LETTER, **{**INDIVIDUAL, "email": "s3@example.ca"}).status_code == 303
