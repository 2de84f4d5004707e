"""add comment approval

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signatures") as batch:
        batch.add_column(sa.Column("comment_approved_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("comment_rejected_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("signatures") as batch:
        batch.drop_column("comment_rejected_at")
        batch.drop_column("comment_approved_at")
