"""add outbox.counted_day: the day a letter was counted against its representative's ceiling

Kept on the row, not in the deliverer's memory, so a deliverer that takes a letter over
neither counts it twice nor leaves a failed one counted.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("counted_day", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("counted_day")
