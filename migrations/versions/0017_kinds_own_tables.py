"""kinds keep their own data: an open letter's signatories and a letter's text leave `signatures`

`signatures` keeps what every kind shares. An open letter's signatory fields (type, title,
organization, website, contact name, approval) go to open_letter_signatories, and a letter's
subject, message and chosen representatives to written_letters, one row per signature. Rows are
copied for every signature of a campaign of that kind, and for any other signature that holds
such a value, so nothing written is lost.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from app.tallies import create_triggers, drop_triggers

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SIGNATORY = ("signatory_type", "title", "organization", "website", "contact_name", "approved_at")
WRITTEN = ("subject", "message", "targets")


def _key_columns():
    return (
        sa.Column(
            "signature_id",
            sa.Integer(),
            sa.ForeignKey("signatures.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), nullable=False),
    )


def _copy(table: str, kind: str, columns: tuple[str, ...], holds: str) -> None:
    names = ", ".join(columns)
    op.execute(
        f"INSERT INTO {table} (signature_id, campaign_id, {names}) "
        f"SELECT s.id, s.campaign_id, {', '.join('s.' + name for name in columns)} FROM signatures s "
        f"WHERE s.campaign_id IN (SELECT id FROM campaigns WHERE kind = '{kind}') OR ({holds})"
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table(
        "open_letter_signatories",
        *_key_columns(),
        sa.Column("signatory_type", sa.String(12), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("organization", sa.String(150), nullable=False),
        sa.Column("website", sa.String(300), nullable=False),
        sa.Column("contact_name", sa.String(100), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
    )
    listed = sa.text("approved_at IS NOT NULL")
    op.create_index(
        "ix_open_letter_signatories_listed",
        "open_letter_signatories",
        ["campaign_id", "signatory_type", "signature_id"],
        sqlite_where=listed,
        postgresql_where=listed,
    )
    op.create_table(
        "written_letters",
        *_key_columns(),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
    )
    op.create_index("ix_written_letters_campaign_id", "written_letters", ["campaign_id"])
    _copy(
        "open_letter_signatories",
        "open_letter",
        SIGNATORY,
        "s.signatory_type <> 'individual' OR s.title <> '' OR s.organization <> '' "
        "OR s.website <> '' OR s.contact_name <> '' OR s.approved_at IS NOT NULL",
    )
    _copy("written_letters", "letter", WRITTEN, "s.subject <> '' OR s.message <> '' OR s.targets <> ''")

    # SQLite rebuilds the table: the triggers go meanwhile, and AUTOINCREMENT is asked for again
    # (an erased signature's id, and its links, must never go to the next signer).
    drop_triggers(op.execute, dialect)
    op.drop_index("ix_signatures_listed", table_name="signatures")
    with op.batch_alter_table("signatures", table_kwargs={"sqlite_autoincrement": True}) as batch:
        for name in SIGNATORY + WRITTEN:
            batch.drop_column(name)
    op.execute("DELETE FROM signature_tallies")  # create_triggers adds them up again
    create_triggers(op.execute, dialect)


def downgrade():
    raise NotImplementedError("the kinds' tables cannot be folded back: restore a backup instead")
