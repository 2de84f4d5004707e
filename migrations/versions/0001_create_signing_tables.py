"""create signatures, consent wordings, outbox and count shards

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

COUNT_SHARDS = 16


def upgrade():
    op.create_table(
        "consent_wordings",
        sa.Column("version", sa.String(16), primary_key=True),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_shown_at", sa.DateTime(), nullable=False),
    )
    shards = op.create_table(
        "count_shards",
        sa.Column("shard", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(shards, [{"shard": n, "count": 0, "updated_at": now} for n in range(COUNT_SHARDS)])

    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("postal_code", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("updates", sa.Boolean(), nullable=False),
        sa.Column("updates_consented_at", sa.DateTime(), nullable=True),
        sa.Column("consent_version", sa.String(16), sa.ForeignKey("consent_wordings.version"), nullable=True),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("emails_queued", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_signatures_confirmed_at", "signatures", ["confirmed_at"])
    op.create_index("ix_signatures_public_confirmed", "signatures", ["public", "confirmed_at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("signature_id", sa.Integer(),
                  sa.ForeignKey("signatures.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_outbox_signature_id", "outbox", ["signature_id"])
    op.create_index("ix_outbox_status_due", "outbox", ["status", "next_attempt_at"])


def downgrade():
    op.drop_table("outbox")
    op.drop_table("signatures")
    op.drop_table("count_shards")
    op.drop_table("consent_wordings")
