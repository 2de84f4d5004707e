"""add letter days: letters sent per representative and day, which outlive their writers

The daily ceiling per representative counts them, and "letters sent" is their sum. Filled
from the letters already sent, by the UTC day they were sent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "letter_days",
        sa.Column("target_id", sa.String(length=64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("sent", sa.Integer(), nullable=False, server_default="0"),
    )
    day = "date(o.sent_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(o.sent_at AS date)"
    op.execute(
        "INSERT INTO letter_days (target_id, day, name, role, sent) "
        f"SELECT l.target_id, {day}, MAX(l.name), MAX(l.role), COUNT(*) "
        "FROM outbox o JOIN letters l ON l.id = o.letter_id "
        f"WHERE o.status = 'sent' AND o.sent_at IS NOT NULL GROUP BY l.target_id, {day}"
    )


def downgrade():
    op.drop_table("letter_days")
