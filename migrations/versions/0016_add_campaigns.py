"""add campaigns: many in one database, each with its revisions; every campaign row names its campaign

A database upgraded from one campaign gets that campaign as row 1 (a placeholder with no
revision yet: the next import of its campaign file fills it in, campaigns.import_file), and
every signature, count shard, tally, letter day, PDF, pending resend and audit event is
given to it. A new database starts with no campaign at all.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""
import tomllib
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from flask import current_app

from app.tallies import create_triggers, drop_triggers

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UPGRADED = 1  # the id of the campaign an upgraded database's rows belong to
# Tables rebuilt with campaign_id in front of their primary key: (name, columns after it, key).
REKEYED = {
    "count_shards": (
        [
            sa.Column("shard", sa.Integer(), primary_key=True, autoincrement=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
        ]
    ),
    "signature_tallies": (
        [
            sa.Column("facet", sa.String(16), primary_key=True),
            sa.Column("value", sa.String(255), primary_key=True),
            sa.Column("shard", sa.Integer(), primary_key=True, autoincrement=False),
            sa.Column("signed", sa.Integer(), nullable=False),
            sa.Column("confirmed", sa.Integer(), nullable=False),
            sa.Column("consenting", sa.Integer(), nullable=False),
        ]
    ),
    "letter_writers": (
        [
            sa.Column("writer", sa.String(64), primary_key=True),
            sa.Column("target_id", sa.String(64), primary_key=True),
        ]
    ),
    "letter_days": (
        [
            sa.Column("target_id", sa.String(64), primary_key=True),
            sa.Column("day", sa.Date(), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("role", sa.String(200), nullable=False),
            sa.Column("sent", sa.Integer(), nullable=False),
        ]
    ),
    "letter_pdfs": (
        [
            sa.Column("language", sa.String(8), primary_key=True),
            sa.Column("version", sa.String(200), nullable=False),
            sa.Column("pdf", sa.LargeBinary(), nullable=True),
            sa.Column("built_at", sa.DateTime(), nullable=True),
            sa.Column("building_until", sa.DateTime(), nullable=True),
            sa.Column("last_error", sa.String(200), nullable=True),
        ]
    ),
}


def _campaign_id(nullable: bool = False, primary_key: bool = False, ondelete: str | None = None) -> sa.Column:
    return sa.Column(
        "campaign_id",
        sa.Integer(),
        sa.ForeignKey("campaigns.id", ondelete=ondelete),
        nullable=nullable,
        primary_key=primary_key,
    )


def _has_rows(*tables: str) -> bool:
    bind = op.get_bind()
    return any(bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() for table in tables)


def _upgraded_kind() -> str:
    """The kind of the campaign file the upgrading deployment runs (its rows' kind)."""
    try:
        with open(current_app.config["CAMPAIGN_FILE"], "rb") as handle:
            kind = tomllib.load(handle).get("kind", "petition")
    except (RuntimeError, KeyError, OSError, tomllib.TOMLDecodeError):
        return "petition"
    return kind if kind in ("petition", "open_letter", "letter") else "petition"


def upgrade():
    dialect = op.get_bind().dialect.name
    campaigns = op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("managed_by_file", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "campaign_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.UniqueConstraint("campaign_id", "number", name="uq_campaign_revisions_number"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_campaign_revisions_campaign_id", "campaign_revisions", ["campaign_id"])
    op.create_table(
        "campaign_aliases",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column(
            "campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
        ),
    )
    op.create_index("ix_campaign_aliases_campaign_id", "campaign_aliases", ["campaign_id"])

    upgraded = _has_rows("signatures", "audit_events", "letter_days", "letter_pdfs", "resend_requests")
    if upgraded:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        op.bulk_insert(
            campaigns,
            [
                {
                    "id": UPGRADED,
                    "slug": "campaign",
                    "kind": _upgraded_kind(),
                    "state": "published",
                    "revision_id": None,
                    "managed_by_file": None,
                    "created_at": now,
                    "changed_at": now,
                    "closed_at": None,
                }
            ],
        )
        if dialect == "postgresql":
            op.execute("SELECT setval('campaigns_id_seq', (SELECT max(id) FROM campaigns))")
    owner = str(UPGRADED) if upgraded else "NULL"

    # The triggers go while their table changes (SQLite rebuilds it) and come back per campaign.
    drop_triggers(op.execute, dialect)
    op.drop_index("ix_signatures_listed", table_name="signatures")
    op.drop_index("ix_signatures_public_confirmed", table_name="signatures")
    # SQLite rebuilds the table: its unique email constraint has no name (this gives it one to
    # drop), and AUTOINCREMENT must be asked for again, or an erased signature's id (and its
    # links) could go to the next signer.
    rebuilt = {
        "naming_convention": {"uq": "uq_%(table_name)s_%(column_0_name)s"},
        "table_kwargs": {"sqlite_autoincrement": True},
    }
    with op.batch_alter_table("signatures", **rebuilt) as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("revision_id", sa.Integer(), nullable=True))
    op.execute(f"UPDATE signatures SET campaign_id = {owner}")
    with op.batch_alter_table("signatures", **rebuilt) as batch:
        batch.alter_column("campaign_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_signatures_campaign_id", "campaigns", ["campaign_id"], ["id"])
        batch.create_foreign_key(
            "fk_signatures_revision_id", "campaign_revisions", ["revision_id"], ["id"]
        )
        batch.drop_constraint(
            "uq_signatures_email" if dialect == "sqlite" else "signatures_email_key", type_="unique"
        )
        batch.create_unique_constraint("uq_signatures_campaign_email", ["campaign_id", "email"])
    op.create_index("ix_signatures_campaign_id", "signatures", ["campaign_id"])
    op.create_index(
        "ix_signatures_public_confirmed", "signatures", ["campaign_id", "public", "confirmed_at"]
    )
    listed = sa.text("approved_at IS NOT NULL")
    op.create_index(
        "ix_signatures_listed",
        "signatures",
        ["campaign_id", "signatory_type", "id"],
        sqlite_where=listed,
        postgresql_where=listed,
    )

    # Tables whose key gains the campaign: rebuilt, their rows given to the upgraded campaign
    # (a new database's 16 empty count shards go: each campaign makes its own).
    for table, columns in REKEYED.items():
        op.create_table(f"{table}_new", _campaign_id(primary_key=True), *columns)
        names = ", ".join(column.name for column in columns)
        # The tallies are not copied: create_triggers adds them up again from the signatures.
        if upgraded and table != "signature_tallies":
            op.execute(
                f"INSERT INTO {table}_new (campaign_id, {names}) SELECT {UPGRADED}, {names} FROM {table}"
            )
        op.drop_table(table)
        op.rename_table(f"{table}_new", table)

    op.execute(f"DELETE FROM resend_requests WHERE {owner} IS NULL")
    with op.batch_alter_table("resend_requests") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
    op.execute(f"UPDATE resend_requests SET campaign_id = {owner}")
    with op.batch_alter_table("resend_requests") as batch:
        batch.alter_column("campaign_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_resend_requests_campaign_id", "campaigns", ["campaign_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_audit_events_campaign_id", "campaigns", ["campaign_id"], ["id"])
    op.execute(f"UPDATE audit_events SET campaign_id = {owner}")
    op.create_index("ix_audit_events_campaign_id", "audit_events", ["campaign_id"])

    create_triggers(op.execute, dialect)


def downgrade():
    raise NotImplementedError("campaigns cannot be folded back into one: restore a backup instead")
