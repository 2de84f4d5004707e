"""add letter pdfs: the open letter's PDF per language, built in the background for everyone

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "letter_pdfs",
        sa.Column("language", sa.String(length=8), primary_key=True),
        sa.Column("version", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("built_at", sa.DateTime(), nullable=True),
        sa.Column("building_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
    )


def downgrade():
    op.drop_table("letter_pdfs")
