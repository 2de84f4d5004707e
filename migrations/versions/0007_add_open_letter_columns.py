"""add open letter columns

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signatures") as batch:
        batch.add_column(sa.Column("signatory_type", sa.String(12), nullable=False, server_default="individual"))
        batch.add_column(sa.Column("title", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("organization", sa.String(150), nullable=False, server_default=""))
        batch.add_column(sa.Column("website", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("contact_name", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("approved_at", sa.DateTime(), nullable=True))
    # The two public lists of an open letter, each read page by page in signing order (keyset on id),
    # and their counts: only approved rows are in the index.
    op.create_index(
        "ix_signatures_listed",
        "signatures",
        ["signatory_type", "id"],
        sqlite_where=sa.text("approved_at IS NOT NULL"),
        postgresql_where=sa.text("approved_at IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_signatures_listed", table_name="signatures")
    with op.batch_alter_table("signatures") as batch:
        for column in ("approved_at", "contact_name", "website", "organization", "title", "signatory_type"):
            batch.drop_column(column)
