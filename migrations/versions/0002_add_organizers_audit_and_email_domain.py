"""add organizers, audit events and signature email domain

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "organizers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("session_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])

    with op.batch_alter_table("signatures") as batch:
        batch.add_column(sa.Column("email_domain", sa.String(255), nullable=False, server_default=""))
    domain = ("split_part(email, '@', 2)" if op.get_bind().dialect.name == "postgresql"
              else "substr(email, instr(email, '@') + 1)")
    op.execute(f"UPDATE signatures SET email_domain = {domain}")
    op.create_index("ix_signatures_email_domain", "signatures", ["email_domain"])


def downgrade():
    op.drop_index("ix_signatures_email_domain", "signatures")
    with op.batch_alter_table("signatures") as batch:
        batch.drop_column("email_domain")
    op.drop_table("audit_events")
    op.drop_table("organizers")
