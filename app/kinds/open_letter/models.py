"""The open letter's own table: what a signatory says beyond what every signature holds."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...models import Personal, UTCDateTime


class Signatory(db.Model):
    """A signature of an open letter as a signatory: an individual (their title and affiliation)
    or an organization (its website and the person who signed for it, never public), and when
    an organizer put it on the letter. One row per signature, written with it."""

    __tablename__ = "open_letter_signatories"
    __table_args__ = (
        # The letter's lists: one campaign's listed signatories of one type, in signing order.
        Index(
            "ix_open_letter_signatories_listed",
            "campaign_id",
            "signatory_type",
            "signature_id",
            sqlite_where=text("approved_at IS NOT NULL"),
            postgresql_where=text("approved_at IS NOT NULL"),
        ),
    )

    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    signatory_type: Mapped[str] = mapped_column(String(12), default="individual", info={"personal": False})
    title: Mapped[str] = mapped_column(String(100), default="", info={"personal": Personal.BLANK})
    organization: Mapped[str] = mapped_column(String(150), default="", info={"personal": Personal.BLANK})
    website: Mapped[str] = mapped_column(String(300), default="", info={"personal": Personal.BLANK})
    contact_name: Mapped[str] = mapped_column(String(100), default="", info={"personal": Personal.BLANK})
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
