"""add letter writers: each person writes to each representative once per campaign

A keyed hash of the writer's address (tags and ignored dots dropped) beside each
representative they wrote to. Nothing else of the writer is kept, and the row outlives
their erasure.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "letter_writers",
        sa.Column("writer", sa.String(length=64), primary_key=True),
        sa.Column("target_id", sa.String(length=64), primary_key=True),
    )


def downgrade():
    op.drop_table("letter_writers")
