"""add submissions: a pending address's later answers, each with its own link

A signature row holds the first answers given with an address. Until it is confirmed,
anyone may submit that address again; each later submission is kept here with its own
answers (and a letter's chosen representatives), and its confirmation email names it, so
that pressing a link confirms what that submission said and nothing else.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "signature_id", sa.Integer(), sa.ForeignKey("signatures.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("letters", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column(
            "consent_version", sa.String(length=16), sa.ForeignKey("consent_wordings.version"), nullable=True
        ),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_submissions_signature_id", "submissions", ["signature_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("submission_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_outbox_submission_id", "submissions", ["submission_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index("ix_outbox_submission_id", "outbox", ["submission_id"])


def downgrade():
    op.drop_index("ix_outbox_submission_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_submission_id", type_="foreignkey")
        batch.drop_column("submission_id")
    op.drop_index("ix_submissions_signature_id", table_name="submissions")
    op.drop_table("submissions")
