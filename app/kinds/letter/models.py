"""The letter campaign's own table: the letter each writer wrote."""

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...models import Personal


class WrittenLetter(db.Model):
    """The letter a writer wrote, as they edited it: its subject and message, and the ids of the
    representatives they chose, separated by spaces. One row per signature, written with it;
    each representative's copy is a models.Letter."""

    __tablename__ = "written_letters"

    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="", info={"personal": Personal.BLANK})
    message: Mapped[str] = mapped_column(Text, default="", info={"personal": Personal.BLANK})
    targets: Mapped[str] = mapped_column(Text, default="", info={"personal": Personal.BLANK})
