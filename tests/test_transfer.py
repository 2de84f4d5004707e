"""`database copy-to`: SQLite to PostgreSQL and back, rows exact, ids never reused, full targets refused."""

import uuid
from dataclasses import dataclass

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.counter import add_to_count
from app.extensions import db
from app.models import Campaign, CountShard, Signature, utcnow
from app.signatures import erase_signature
from helpers import (
    OPEN_LETTER,
    ORGANIZER_EMAIL,
    ORGANIZER_PASSWORD,
    TEST_DATABASE_URL,
    deliver,
    link_in,
    make_signature,
    press_button,
    run_outside_transaction,
    sign,
    signature_rows,
)

# Any PostgreSQL server will do for making throw-away databases: the one the suite uses, or the local one.
SERVER_URL = make_url(TEST_DATABASE_URL or "postgresql://postgres@127.0.0.1:5432/postgres").set(
    drivername="postgresql+psycopg", database="postgres"
)


@pytest.fixture
def new_postgres_database():
    """Make a PostgreSQL database of this test's own: (URL as operators write it, SQLAlchemy URL)."""
    name = f"petition_copy_{uuid.uuid4().hex[:12]}"
    run_outside_transaction(SERVER_URL, f'CREATE DATABASE "{name}"')
    url = SERVER_URL.set(database=name)
    yield (
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        url.render_as_string(hide_password=False),
    )
    run_outside_transaction(SERVER_URL, f'DROP DATABASE "{name}" WITH (FORCE)')


def migrated_app(make_app, url: str):
    """An app on its own database, the schema built by the migrations."""
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
    return app


def mail_to(smtp, address: str):
    return [message for message in smtp.messages if message["To"] == address][-1]


@dataclass(frozen=True)
class Seeded:
    """What a test needs to know about the source after seeding it."""

    confirm_link: str  # an unused confirmation link of a pending signature
    manage_link: str
    erased_id: int  # the highest id the source handed out, erased before the copy


def seed_through_the_site(app, smtp, tmp_path) -> Seeded:
    """Fill every table the way people and organizers do: signing, confirming, erasing, exporting."""
    client = app.test_client()
    sign(
        client,
        name="Ana Tremblay",
        email="ana@example.ca",
        public="y",
        updates="y",
        comment="Première signature — merci ✊ «oui»",
    )
    sign(client, name="Béatrice Côté", email="bea@example.ca", postal_code="H2X 1Y4", public="y")
    sign(client, name="Chloé Nguyễn", email="chloe@example.ca", country="FR", postal_code="")
    deliver(app)
    for address in ("ana@example.ca", "bea@example.ca"):
        assert press_button(client, link_in(mail_to(smtp, address), "/confirm/")).status_code == 303
    sign(client, email="ana@example.ca")  # already counted: a note with the manage link
    deliver(app)
    sign(client, name="Eve O'Brien", email="eve@example.ca")  # its email stays queued in the outbox
    sign(client, name="Dan Roy", email="dan@example.ca")
    dan = signature_rows(app)[-1]
    with app.app_context():
        assert erase_signature(dan.id, actor="test")
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["organizer", "add", ORGANIZER_EMAIL, "--password", ORGANIZER_PASSWORD]).exit_code
        == 0
    )
    assert runner.invoke(args=["signatures", "export", str(tmp_path / "export.csv")]).exit_code == 0
    return Seeded(
        confirm_link=link_in(mail_to(smtp, "chloe@example.ca"), "/confirm/"),
        manage_link=link_in(mail_to(smtp, "ana@example.ca"), "/manage/"),
        erased_id=dan.id,
    )


def every_row(app) -> dict[str, list[tuple]]:
    """Each table's rows in primary-key order, read back through the models' types."""
    with app.app_context():
        return {
            table.name: [
                tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in db.metadata.sorted_tables
        }


def copy_to(app, target: str, *options: str):
    return app.test_cli_runner().invoke(args=["database", "copy-to", target, *options])


@pytest.mark.parametrize("direction", ["sqlite to postgresql", "postgresql to sqlite"])
def test_copy_carries_every_row_exactly_and_the_target_app_takes_over(
    direction, make_app, smtp, tmp_path, new_postgres_database
):
    postgres_cli_url, postgres_url = new_postgres_database
    sqlite_url = f"sqlite:///{tmp_path / 'petition.db'}"
    if direction == "sqlite to postgresql":
        source_url, target_cli_url, target_url = sqlite_url, postgres_cli_url, postgres_url
    else:
        source_url, target_cli_url, target_url = postgres_url, sqlite_url, sqlite_url
    source = migrated_app(make_app, source_url)
    seeded = seed_through_the_site(source, smtp, tmp_path)
    rows = every_row(source)
    for table in ("signatures", "consent_wordings", "outbox", "organizers", "audit_events", "count_shards"):
        assert rows[table], f"the seed left {table} empty"

    result = copy_to(source, target_cli_url, "--batch-size", "2")  # several batches per table

    assert result.exit_code == 0, result.output
    assert "signatures: 4 of 4" in result.output
    assert f"next id {seeded.erased_id + 1}" in result.output
    assert "Count: 2; confirmed signatures: 2." in result.output
    target = make_app(SQLALCHEMY_DATABASE_URI=target_url)
    assert every_row(target) == rows
    with target.app_context():
        assert db.session.scalar(select(func.sum(CountShard.count))) == 2

    client = target.test_client()
    assert client.get("/api/count").get_json()["count"] == 2
    assert press_button(client, seeded.confirm_link).status_code == 303  # a link mailed before the move
    assert client.get("/api/count").get_json()["count"] == 3
    assert "Ana Tremblay" in client.get(seeded.manage_link).get_data(as_text=True)
    sign(client, name="Fay Leblanc", email="fay@example.ca")
    newest = signature_rows(target)[-1]
    assert newest.email == "fay@example.ca" and newest.id > seeded.erased_id  # the erased id stays retired

    before = every_row(target)
    again = copy_to(source, target_cli_url)
    assert again.exit_code == 1
    assert "The target database is not empty" in again.output
    assert every_row(target) == before


def test_copy_refuses_a_target_whose_count_is_not_zero_before_writing(make_app, smtp, tmp_path):
    source = migrated_app(make_app, f"sqlite:///{tmp_path / 'source.db'}")
    sign(source.test_client(), email="ana@example.ca")
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    target = migrated_app(make_app, target_url)
    with target.app_context():  # a campaign's count but no signatures: still somebody's data
        campaign = Campaign(slug="elsewhere", kind="petition", state="published")
        db.session.add(campaign)
        db.session.flush()
        db.session.add(CountShard(campaign_id=campaign.id, shard=3, count=5))
        db.session.commit()
    before = every_row(target)

    result = copy_to(source, target_url)

    assert result.exit_code == 1
    assert "not empty (rows in " in result.output and "count_shards" in result.output
    assert every_row(target) == before


def test_copy_refuses_the_apps_own_database_and_urls_it_cannot_open(app):
    own_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if own_url.get_backend_name() == "postgresql":  # the same database reached another way
        own_url = own_url.set(drivername="postgresql", username="someone", password="else")
    own = copy_to(app, own_url.render_as_string(hide_password=False))
    assert own.exit_code == 1 and "the app's own database" in own.output
    unknown = copy_to(app, "mysql-ish://somewhere/petition")
    assert unknown.exit_code == 1 and "is not a database URL" in unknown.output
    unreachable = copy_to(app, "postgresql://nobody@127.0.0.1:1/petition")
    assert unreachable.exit_code == 1 and "Cannot open the target database" in unreachable.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


def test_a_row_the_target_rejects_stops_the_copy_and_leaves_no_rows_behind(
    make_app, smtp, tmp_path, new_postgres_database
):
    postgres_cli_url, postgres_url = new_postgres_database
    source = migrated_app(make_app, f"sqlite:///{tmp_path / 'source.db'}")
    client = source.test_client()
    for address in ("ana@example.ca", "bea@example.ca", "chloe@example.ca"):
        sign(client, email=address)
    with source.app_context():  # SQLite ignores column lengths; PostgreSQL will not take this row
        db.session.execute(text("UPDATE signatures SET country = 'CAN' WHERE email = 'chloe@example.ca'"))
        db.session.commit()

    failed = copy_to(source, postgres_cli_url, "--batch-size", "2")

    assert failed.exit_code == 1
    assert "Copying signatures failed" in failed.output and "nothing was kept" in failed.output
    assert "chloe" not in failed.output  # no signer's data on the operator's screen either
    target = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    schema_only = every_row(target)
    assert not any(rows for name, rows in schema_only.items() if name != "count_shards")
    assert all(count == 0 for _shard, count, _updated_at in schema_only["count_shards"])

    with source.app_context():
        db.session.execute(text("UPDATE signatures SET country = 'CA' WHERE email = 'chloe@example.ca'"))
        db.session.commit()
    assert copy_to(source, postgres_cli_url).exit_code == 0  # the failed try left the target reusable
    assert every_row(target) == every_row(source)


def test_an_open_letter_with_signatories_awaiting_approval_copies_without_a_warning(
    make_app, tmp_path, new_postgres_database
):
    _postgres_cli_url, postgres_url = new_postgres_database
    source = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'letter.db'}", CAMPAIGN_FILE=str(OPEN_LETTER)
    )
    with source.app_context():
        upgrade()
    make_signature(source, 1, public=True, approved_at=utcnow())
    make_signature(source, 2, public=True)  # confirmed, waiting for an organizer: not in the count
    with source.app_context():
        add_to_count(1)
        db.session.commit()
    result = copy_to(source, postgres_url)
    assert result.exit_code == 0, result.output
    assert "Count: 1; confirmed signatures: 2." in result.output
    assert "Warning" not in result.output, "the count is of listed signatories, not of confirmed ones"
