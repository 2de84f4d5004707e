"""index signatures by campaign and time: a campaign's last hour, a day of it, its old pending rows

The index on signed_at alone served one campaign per database. With many, a campaign's last
hour was read through its campaign_id instead (every signature of it: a third of a second
for a campaign of a million on the dashboard). (campaign_id, signed_at) serves both.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_signatures_campaign_signed", "signatures", ["campaign_id", "signed_at"])
    op.drop_index("ix_signatures_signed_at", table_name="signatures")


def downgrade():
    op.create_index("ix_signatures_signed_at", "signatures", ["signed_at"])
    op.drop_index("ix_signatures_campaign_signed", table_name="signatures")
