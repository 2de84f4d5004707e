"""add letters to representatives

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signatures") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("message", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("targets", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "signature_id", sa.Integer(), sa.ForeignKey("signatures.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.UniqueConstraint("signature_id", "target_id", name="uq_letters_signature_target"),
    )
    op.create_index("ix_letters_signature_id", "letters", ["signature_id"])
    op.create_index("ix_letters_target_id", "letters", ["target_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("letter_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_outbox_letter_id", "letters", ["letter_id"], ["id"], ondelete="CASCADE")
        batch.create_unique_constraint("uq_outbox_letter_id", ["letter_id"])
    op.create_index("ix_outbox_kind_status", "outbox", ["kind", "status"])


def downgrade():
    op.drop_index("ix_outbox_kind_status", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_letter_id", type_="unique")
        batch.drop_constraint("fk_outbox_letter_id", type_="foreignkey")
        batch.drop_column("letter_id")
    op.drop_table("letters")
    with op.batch_alter_table("signatures") as batch:
        batch.drop_column("targets")
        batch.drop_column("message")
        batch.drop_column("subject")
