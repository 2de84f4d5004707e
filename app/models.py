"""Tables: campaigns and their revisions, signatures, the consent wordings they agreed to, letters
to representatives, the mail outbox, the count shards, the dashboard's tallies, organizers, their
devices and the audit log.

Every table of a campaign's own data carries `campaign_id` (or reaches it through its
signature): a campaign's rows are found by it, and no query of one campaign reads another's.
"""

from datetime import UTC, date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from .clock import utcnow
from .extensions import db


class UTCDateTime(TypeDecorator):
    """Stores UTC without a zone (same on SQLite and PostgreSQL), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None:
            value = value.replace(tzinfo=UTC)
        return value


# The largest id an INTEGER column holds on PostgreSQL; SQLite refuses ids past 2**63 with an
# error. A route's id beyond it names no signature: `<int(max=ID_MAX):...>` answers 404.
ID_MAX = 2**31 - 1


class Personal(StrEnum):
    """How anonymisation treats a column holding a signer's personal data (app/personal.py).

    Every text and flag column of a table holding signer data says whether it holds any:
    `info={"personal": Personal.BLANK}` and so on, or `info={"personal": False}`. A test fails
    on a column that says neither, so whoever adds one decides.
    """

    BLANK = "blank"  # becomes ""
    UNSET = "unset"  # becomes NULL
    WITHDRAWN = "withdrawn"  # becomes False: a consent or a choice
    # The column is unique: each row gets its own address, one that can never receive mail.
    UNDELIVERABLE = "undeliverable"
    PROVINCE = "province"  # a Canadian postal code keeps its first letter (the province); others go
    # The row as a whole is the signer's: it goes with the signature's personal data.
    ROW = "row"


class Campaign(db.Model):
    """One campaign of the deployment: its address, kind and state; its words and settings are
    in its revisions (the newest is `revision_id`), each a whole campaign file."""

    __tablename__ = "campaigns"
    __table_args__ = ({"sqlite_autoincrement": True},)

    DRAFT, PUBLISHED, CLOSED, ARCHIVED = "draft", "published", "closed", "archived"
    STATES = (DRAFT, PUBLISHED, CLOSED, ARCHIVED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(12), default=PUBLISHED)
    # The newest revision; None only for the campaign an upgraded database's rows were given,
    # until its file is imported (campaigns.import_file adopts it).
    revision_id: Mapped[int | None] = mapped_column(Integer)
    # The campaign file that CAMPAIGN_FILE names and start-up imports, when it is managed so.
    managed_by_file: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Any change of the campaign (a revision, its state, its slug): every process sees it here
    # and reloads the campaign (campaigns.Registry).
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When an organizer closed it before its deadline (signing ends as at a deadline).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignRevision(db.Model):
    """One saved version of a campaign: the campaign file as written (TOML), and the files it
    names (a letter's targets) by name. A signature names the revision it signed."""

    __tablename__ = "campaign_revisions"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number", name="uq_campaign_revisions_number"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3... within the campaign
    document: Mapped[str] = mapped_column(Text)
    files: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")


class CampaignAlias(db.Model):
    """An earlier slug of a renamed campaign: its old address redirects to the new one."""

    __tablename__ = "campaign_aliases"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)


class Signature(db.Model):
    """One person's signature: pending until its link is followed, then confirmed and counted.

    The state lives in `confirmed_at` alone; `confirmed` names it, in Python and in SQL
    (`where(Signature.confirmed)`, pending is `~Signature.confirmed`), so no query spells
    out the NULL test.
    """

    __tablename__ = "signatures"
    # AUTOINCREMENT keeps SQLite from reusing the id of a deleted signature,
    # which would let an old link act on someone else's row.
    __table_args__ = (
        # One signature per address and campaign: the same address signs each campaign once.
        UniqueConstraint("campaign_id", "email", name="uq_signatures_campaign_email"),
        Index("ix_signatures_public_confirmed", "campaign_id", "public", "confirmed_at"),
        # A campaign's signatures by time: the last hour's (the dashboard's bursts), a day's
        # (the export's since/until), the old pending ones (purge).
        Index("ix_signatures_campaign_signed", "campaign_id", "signed_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    # The campaign's revision the signer saw and agreed to (None for rows older than revisions).
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_revisions.id"))
    email: Mapped[str] = mapped_column(String(320), info={"personal": Personal.UNDELIVERABLE})
    email_domain: Mapped[str] = mapped_column(
        String(255), default="", index=True, info={"personal": Personal.BLANK}
    )
    name: Mapped[str] = mapped_column(String(100), info={"personal": Personal.BLANK})
    postal_code: Mapped[str] = mapped_column(String(16), default="", info={"personal": Personal.PROVINCE})
    country: Mapped[str] = mapped_column(String(2), default="CA", info={"personal": False})
    comment: Mapped[str] = mapped_column(Text, default="", info={"personal": Personal.BLANK})
    # An organizer's review of the comment, for "Why people sign": shown once approved,
    # never once rejected; the signature itself is counted either way.
    comment_approved_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, index=True, info={"personal": Personal.UNSET}
    )
    comment_rejected_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, info={"personal": Personal.UNSET}
    )
    public: Mapped[bool] = mapped_column(Boolean, default=False, info={"personal": Personal.WITHDRAWN})
    updates: Mapped[bool] = mapped_column(Boolean, default=False, info={"personal": Personal.WITHDRAWN})
    updates_consented_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, info={"personal": Personal.UNSET}
    )
    consent_version: Mapped[str | None] = mapped_column(
        ForeignKey("consent_wordings.version"), info={"personal": Personal.UNSET}
    )
    language: Mapped[str] = mapped_column(String(5), default="en", info={"personal": False})
    source: Mapped[str] = mapped_column(String(64), default="", info={"personal": False})
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    emails_queued: Mapped[int] = mapped_column(Integer, default=0)
    # Set when retention erased the signer's personal data: the row stays for the counts,
    # and every link to it answers as for an erased signature.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a kind asks beyond this is in the kind's own table, one row per signature
    # (Kind.answers_model): an open letter's signatories, a letter's text.

    @hybrid_property
    def confirmed(self) -> bool:
        """Counted: its signer followed the confirmation link; False while pending."""
        return self.confirmed_at is not None

    @confirmed.inplace.expression
    @classmethod
    def _confirmed_expression(cls):
        return cls.confirmed_at.is_not(None)


class ConsentWording(db.Model):
    """The exact sentence a signer ticked to consent to updates, kept once per version."""

    __tablename__ = "consent_wordings"

    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    language: Mapped[str] = mapped_column(String(5))
    text: Mapped[str] = mapped_column(Text)
    first_shown_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Submission(db.Model):
    """A later submission of an address whose signature is still pending: its own answers and link.

    The signature row holds the answers first given with the address. Anyone may type that
    address again before it is confirmed (its owner in another browser, or someone else),
    and each such submission is kept whole here, with its own confirmation email. Pressing
    a link confirms that link's answers alone: a submission's are written over the row's,
    and every other pending submission of the address is dropped.
    """

    __tablename__ = "submissions"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signatures.id", ondelete="CASCADE"), index=True)
    # The sign form's answers by column (what the row would hold), and a letter's chosen
    # representatives as they were found (the letters table's columns).
    answers: Mapped[dict] = mapped_column(JSON, info={"personal": Personal.ROW})
    letters: Mapped[list] = mapped_column(JSON, default=list, info={"personal": Personal.ROW})
    language: Mapped[str] = mapped_column(String(5), info={"personal": False})
    source: Mapped[str] = mapped_column(String(64), default="", info={"personal": False})
    consent_version: Mapped[str | None] = mapped_column(
        ForeignKey("consent_wordings.version"), info={"personal": Personal.ROW}
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Letter(db.Model):
    """A signer's letter to one representative, who they were when the signer chose them.

    Written with the signature; the outbox gets its email once the signature is confirmed.
    """

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("signature_id", "target_id", name="uq_letters_signature_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signatures.id", ondelete="CASCADE"), index=True)
    # A representative's public details, but whom a signer wrote to says where they live (a ward
    # is finer than the province anonymisation keeps): the row is the signer's.
    target_id: Mapped[str] = mapped_column(String(64), index=True, info={"personal": Personal.ROW})
    name: Mapped[str] = mapped_column(String(200), info={"personal": Personal.ROW})
    role: Mapped[str] = mapped_column(String(200), default="", info={"personal": Personal.ROW})
    email: Mapped[str] = mapped_column(String(320), info={"personal": Personal.ROW})
    area: Mapped[str] = mapped_column(String(200), default="", info={"personal": Personal.ROW})


class LetterWriter(db.Model):
    """One person has written to one representative of the campaign: each does so once, ever.

    `writer` is a keyed hash of the address as addresses.one_person counts it (tags and ignored
    dots dropped). It is all that is kept of the writer, and it stays after their erasure, so
    signing, erasing and signing again sends no second letter.
    """

    __tablename__ = "letter_writers"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    writer: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class LetterDay(db.Model):
    """The letters handed to the mail server for one representative on one day (in the
    campaign's time zone): mail.ceiling holds each day to a ceiling, and their sum is the
    campaign's letters sent. Nothing of any writer is here, so the figures outlive erasure
    and anonymisation."""

    __tablename__ = "letter_days"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200), default="")
    sent: Mapped[int] = mapped_column(Integer, default=0)


class LetterPdf(db.Model):
    """An open letter's last PDF in one language, built in the background (app/pdf_builds.py),
    where every worker and instance reads it; `version` names the list it was built from."""

    __tablename__ = "letter_pdfs"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    version: Mapped[str] = mapped_column(String(200), default="")
    # None until built, and again as soon as a name leaves the list: it is never served after.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One builder at a time, on any instance: whoever holds the lease until then.
    building_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))


class ResendRequest(db.Model):
    """Someone asked /resend for a link for this address: the mail deliverer answers it (and
    deletes the row), so the request does the same work whether or not the address signed."""

    __tablename__ = "resend_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # The row goes once the request is answered, seconds later.
    email: Mapped[str] = mapped_column(String(320), info={"personal": Personal.ROW})
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """An email waiting for, or done with, delivery; rendered only when sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_kind_status", "kind", "status"),
    )

    QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signatures.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), info={"personal": False})
    # A letter to a representative rather than a message to the signer: at most one email each.
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), unique=True)
    # A confirmation email for a later submission of a pending address (models.Submission):
    # its link names that submission, and the email goes with it when it is dropped.
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=QUEUED, info={"personal": False})
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set just before the message goes to the SMTP server: a lease that runs out after this
    # means the outcome is unknown, and the message is sent again (at least once, same Message-ID).
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200), info={"personal": False})
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A letter counted against its representative's day (mail/ceiling.py) as it was handed
    # over: which day, so whoever records its outcome gives the place back if it fails.
    counted_day: Mapped[date | None] = mapped_column(Date)


class CountShard(db.Model):
    """One slice of the confirmed count; confirmations spread over the shards."""

    __tablename__ = "count_shards"

    SHARDS = 16

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignatureTally(db.Model):
    """Running sums of signatures for the dashboard, one row per facet value (and shard).

    Triggers (migration 0009) change them in the very transaction that inserts, updates or
    deletes a signature, whatever code does it; nothing in Python writes them. Facets:
    `all` (value ""), `signed_on` and `confirmed_on` (value: the UTC day, YYYY-MM-DD),
    `region` (value: country, "-", and for Canada the postal code's first letter; confirmed
    signatures only),
    `source` and `domain`. Readers sum over the shards.
    """

    __tablename__ = "signature_tallies"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    signed: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer)
    consenting: Mapped[int] = mapped_column(Integer)


class Organizer(UserMixin, db.Model):
    """A campaign organizer who logs in to the dashboard."""

    __tablename__ = "organizers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Part of the login session's identity: changing it ends every session of this organizer.
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class OrganizerDevice(db.Model):
    """A browser an organizer logged in from, counted apart by the login throttle until it expires.

    The browser's cookie holds a random token; only its keyed hash is stored, so the table
    alone lets no one pose as the organizer's browser.
    """

    __tablename__ = "organizer_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(db.Model):
    """Who exported or erased what, and when; never a signer's personal data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The campaign the event concerns; None for the deployment's own (an organizer's login).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[int | None] = mapped_column(Integer)
