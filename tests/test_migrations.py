"""The schema comes only from migrations/: they must build exactly what the models describe, and
carry an existing database's rows forward."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import make_url, select, text

from app.extensions import db
from app.models import Campaign
from app.tokens import CONFIRM, make_token
from helpers import (
    TEST_DATABASE_URL,
    ago,
    count_cache_of,
    press_button,
    run_outside_transaction,
    sign,
)


def test_migrations_and_models_describe_the_same_schema(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_tables_whose_ids_are_never_reused_keep_autoincrement_through_every_migration(app):
    """On SQLite, a table rebuilt by a migration loses AUTOINCREMENT unless the migration asks
    for it again: an erased signature's id, and with it its links, would go to the next signer."""
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's sequences never hand out an id twice")
        kept = [
            table.name
            for table in db.metadata.sorted_tables
            if table.dialect_options["sqlite"]["autoincrement"]
        ]
        assert "signatures" in kept
        for name in kept:
            created = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": name}
            ).scalar()
            assert "AUTOINCREMENT" in created, f"{name} would reuse ids"


@pytest.fixture
def old_database_url(tmp_path, worker_id):
    """An empty database of its own, for a schema older than the tests' own."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'one-campaign.db'}"
        return
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql+psycopg")
    name = f"{url.database}_upgrade_{worker_id}"
    run_outside_transaction(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run_outside_transaction(url, f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    run_outside_transaction(url, f'DROP DATABASE "{name}" WITH (FORCE)')


def test_a_one_campaign_database_upgrades_with_every_row_its_links_and_its_count(
    make_app, old_database_url, smtp
):
    """A database built by the migrations before campaigns (0015), with a deployment's rows in
    it, upgrades to many campaigns: every row belongs to the one campaign, its links still work
    and its count and tallies are what they were."""
    app = make_app(SQLALCHEMY_DATABASE_URI=old_database_url)
    signed = ago(hours=3).replace(tzinfo=None)
    with app.app_context():
        upgrade(revision="0015")
        for number, confirmed in ((1, ago(hours=2).replace(tzinfo=None)), (2, None)):
            db.session.execute(
                text(
                    "INSERT INTO signatures (email, email_domain, name, postal_code, country, comment,"
                    " public, updates, language, source, signed_at, confirmed_at, emails_queued)"
                    " VALUES (:email, 'example.ca', :name, 'K1A 0B1', 'CA', '', :public, false, 'en',"
                    " 'newsletter', :signed, :confirmed, 1)"
                ),
                {
                    "email": f"old{number}@example.ca",
                    "name": f"Old Signer {number}",
                    "public": True,
                    "signed": signed,
                    "confirmed": confirmed,
                },
            )
        db.session.execute(text("UPDATE count_shards SET count = 1 WHERE shard = 3"))
        db.session.execute(
            text(
                "INSERT INTO outbox (signature_id, kind, status, attempts, next_attempt_at, created_at)"
                " VALUES (2, 'confirmation', 'queued', 0, :at, :at)"
            ),
            {"at": signed},
        )
        db.session.execute(
            text("INSERT INTO audit_events (at, actor, action, details) VALUES (:at, 'x', 'export', '')"),
            {"at": signed},
        )
        db.session.commit()
        before = db.session.execute(
            text(
                "SELECT facet, value, sum(signed), sum(confirmed) FROM signature_tallies"
                " GROUP BY facet, value ORDER BY facet, value"
            )
        ).all()
        db.session.remove()  # no transaction of ours left open on the tables the upgrade rebuilds
        upgrade()

    upgraded = make_app(SQLALCHEMY_DATABASE_URI=old_database_url)
    client = upgraded.test_client()
    assert client.get("/api/count").get_json()["count"] == 1
    assert "Old Signer 1" in client.get("/signers").get_data(as_text=True)
    with upgraded.app_context():
        campaign = db.session.scalars(select(Campaign)).one()
        assert (campaign.id, campaign.slug, campaign.kind) == (1, "demo", "petition")
        assert campaign.revision_id is not None, "the campaign file's import adopted the old rows"
        for table in ("signatures", "count_shards", "signature_tallies", "audit_events"):
            owners = db.session.execute(text(f"SELECT DISTINCT campaign_id FROM {table}")).scalars().all()
            assert owners == [1], table
        after = db.session.execute(
            text(
                "SELECT facet, value, sum(signed), sum(confirmed) FROM signature_tallies"
                " GROUP BY facet, value ORDER BY facet, value"
            )
        ).all()
        assert after == before
        # The pending signer's confirmation email, still queued: rebuilding `signatures` on
        # SQLite must not cascade into the rows that refer to it.
        assert db.session.execute(text("SELECT signature_id, status FROM outbox")).all() == [(2, "queued")]
        token = make_token(CONFIRM, 2)  # the pending signer's link, as mailed before the upgrade
    assert press_button(client, f"/confirm/{token}").status_code == 303
    assert count_cache_of(upgraded).forget() is None and client.get("/api/count").get_json()["count"] == 2
    assert sign(client, email="new@example.ca").status_code == 303
    with upgraded.app_context():
        ids = db.session.execute(text("SELECT id FROM signatures ORDER BY id")).scalars().all()
    assert ids == [1, 2, 3]


def test_the_kinds_data_moves_to_their_own_tables_with_every_row_beside_it(make_app, old_database_url):
    """A database at 0016 whose signatures hold an open letter's signatory fields and a letter's
    text: upgrading moves them to the kinds' own tables, row for row, and nothing that refers to
    a signature (its letters, its mail) is lost while SQLite rebuilds the table."""
    app = make_app(SQLALCHEMY_DATABASE_URI=old_database_url, CAMPAIGN_FILE="")
    at = ago(hours=3).replace(tzinfo=None)
    with app.app_context():
        upgrade(revision="0016")
        for campaign_id, kind in ((1, "open_letter"), (2, "letter"), (3, "petition")):
            db.session.execute(
                text(
                    "INSERT INTO campaigns (id, slug, kind, state, created_at, changed_at)"
                    " VALUES (:id, :slug, :kind, 'published', :at, :at)"
                ),
                {"id": campaign_id, "slug": f"c{campaign_id}", "kind": kind, "at": at},
            )
        kind_columns = ("signatory_type", "title", "organization", "website", "contact_name")
        kind_columns += ("approved_at", "subject", "message", "targets")
        rows = [  # the campaign, then kind_columns
            (1, "organization", "", "", "https://ligue.example/", "Zoé", at, "", "", ""),
            (1, "individual", "Lawyer", "Clinic", "", "", None, "", "", ""),
            (2, "individual", "", "", "", "", None, "Our park", "Please keep it.", "m1 m2"),
            (3, "individual", "", "", "", "", None, "", "", ""),
        ]
        shared = "campaign_id, email, email_domain, name, postal_code, country, comment, public, updates"
        shared += ", language, source, signed_at, confirmed_at, emails_queued"
        for number, (campaign_id, *values) in enumerate(rows, start=1):
            db.session.execute(
                text(
                    f"INSERT INTO signatures ({shared}, {', '.join(kind_columns)}) VALUES (:campaign,"
                    " :email, 'example.ca', :name, 'K1A 0B1', 'CA', '', true, false, 'en', '', :at, :at, 1, "
                    + ", ".join(f":{name}" for name in kind_columns)
                    + ")"
                ),
                {
                    **dict(zip(kind_columns, values, strict=True)),
                    "campaign": campaign_id,
                    "email": f"s{number}@example.ca",
                    "name": f"Signer {number}",
                    "at": at,
                },
            )
        db.session.execute(
            text(
                "INSERT INTO letters (id, signature_id, target_id, name, role, email, area)"
                " VALUES (1, 3, 'm1', 'Rep One', 'Councillor', 'one@city.example', 'Ward 1')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO outbox (signature_id, kind, letter_id, status, attempts, next_attempt_at,"
                " created_at) VALUES (3, 'letter', 1, 'queued', 0, :at, :at),"
                " (1, 'listed', NULL, 'sent', 1, :at, :at)"
            ),
            {"at": at},
        )
        db.session.commit()
        tallies = "SELECT campaign_id, facet, value, sum(signed), sum(confirmed) FROM signature_tallies"
        tallies += " GROUP BY campaign_id, facet, value ORDER BY campaign_id, facet, value"
        before = db.session.execute(text(tallies)).all()
        db.session.remove()
        upgrade()

        signatories = db.session.execute(
            text(
                "SELECT signature_id, campaign_id, signatory_type, title, organization, website,"
                " contact_name, approved_at IS NOT NULL FROM open_letter_signatories ORDER BY signature_id"
            )
        ).all()
        assert [tuple(row) for row in signatories] == [
            (1, 1, "organization", "", "", "https://ligue.example/", "Zoé", True),
            (2, 1, "individual", "Lawyer", "Clinic", "", "", False),
        ]
        written = db.session.execute(
            text("SELECT signature_id, campaign_id, subject, message, targets FROM written_letters")
        ).all()
        assert [tuple(row) for row in written] == [(3, 2, "Our park", "Please keep it.", "m1 m2")]
        columns = {column["name"] for column in sa_inspect(db.engine).get_columns("signatures")}
        assert not columns & {"signatory_type", "approved_at", "subject", "message", "targets"}
        assert db.session.execute(text("SELECT count(*) FROM signatures")).scalar() == 4
        assert db.session.execute(text("SELECT signature_id, letter_id FROM outbox ORDER BY id")).all() == [
            (3, 1),
            (1, None),
        ]
        assert db.session.execute(text("SELECT count(*) FROM letters")).scalar() == 1
        assert db.session.execute(text(tallies)).all() == before
