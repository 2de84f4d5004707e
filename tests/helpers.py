"""Plain helpers for the tests: settings, row builders, and journeys that use the site as a browser would."""

import dataclasses
import json
import os
import re
import socket
import sqlite3
import time
import unicodedata
from collections import defaultdict
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, delete, func, select, text, update

from app.accounts import create_organizer
from app.addresses import normalize_email
from app.campaign import current_campaign
from app.campaigns import each_campaign
from app.counter import count_cache
from app.extensions import db
from app.forms import CONTROL_CHARACTERS, NAME_MAX
from app.jobs import mail_pass
from app.kinds import NAMES, kind_for, kind_named
from app.models import (
    AuditEvent,
    Campaign,
    CampaignAlias,
    CampaignRevision,
    ConsentWording,
    CountShard,
    Letter,
    LetterDay,
    LetterPdf,
    LetterWriter,
    Organizer,
    OutboxMessage,
    ResendRequest,
    Signature,
    SignatureTally,
    utcnow,
)
from app.personal import personal_columns, signer_tables

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
PUBLIC_URL = "https://petition.test"
# Production refuses keys shorter than 32 characters; every test app and server uses this one.
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-production"
ORGANIZER_EMAIL = "organizer@example.org"
ORGANIZER_PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --- apps and their database ------------------------------------------------------------


def settings(database_url: str, instance_path, **extra) -> dict:
    """Production-like settings for one test app."""
    return {
        "TESTING": True,
        "DEVELOPMENT": False,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PUBLIC_URL": PUBLIC_URL,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SESSION_COOKIE_SECURE": False,  # the test client speaks plain HTTP
        "MAIL_SERVER": None,
        "MAIL_IN_WEB": False,  # tests deliver explicitly, or start a deliverer themselves
        "MAIL_TIMEOUT": 5,
        # scrypt takes 0.15 s a password, by design; the suite logs in hundreds of times. The
        # gunicorn tests and test_admin's own check keep scrypt, the production default.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # The limiter runs in every test, with room for tests that sign dozens of times;
        # the rate-limit tests set their own, low limits.
        **{f"RATELIMIT_{name}": "10000 per minute" for name in ("SIGN", "RESEND", "CONFIRM", "LOGIN")},
        **extra,
    }


def empty_tables() -> None:
    """Leave the database as the migrations made it."""
    for model in (OutboxMessage, Letter, LetterWriter, LetterDay, LetterPdf, Signature, SignatureTally):
        db.session.execute(delete(model))
    for model in (ConsentWording, ResendRequest):
        db.session.execute(delete(model))
    for model in (Organizer, AuditEvent, CountShard):
        db.session.execute(delete(model))
    db.session.execute(update(Campaign).values(revision_id=None))
    for model in (CampaignAlias, CampaignRevision, Campaign):
        db.session.execute(delete(model))
    db.session.commit()


def run_outside_transaction(url, statement: str) -> None:
    """Run one statement outside a transaction (CREATE and DROP DATABASE), from `url`'s database."""
    server = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(statement))
    server.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LockHolder:
    """Another process holding the write lock: SQLite's database lock, or PostgreSQL's table lock."""

    def __init__(self, database_url: str):
        self.url = database_url

    def __enter__(self):
        if self.url.startswith("sqlite"):
            self.connection = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")
        else:
            self.connection = psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"))
            self.connection.execute("LOCK TABLE signatures IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc_info):
        if self.url.startswith("sqlite"):
            self.connection.execute("ROLLBACK")
        else:
            self.connection.rollback()
        self.connection.close()


def wait_until(condition, timeout: float = 10.0, interval: float = 0.02, ignoring: tuple = ()):
    """Poll `condition` until it returns something true, and return that (or fail after `timeout`
    seconds); exceptions of the `ignoring` types count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except ignoring:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


# --- rows ----------------------------------------------------------------------------------


def ago(**delta) -> datetime:
    """That long before the test's clock, in whole seconds (as the export writes times): every
    time in test data is relative to now, so a test passes on any day."""
    return utcnow().replace(microsecond=0) - timedelta(**delta)


def campaign_text(path: Path, deadline: date) -> str:
    """A campaign file's text with `deadline = <deadline>` added to its top-level keys."""
    content = path.read_text(encoding="utf-8")
    goal = re.search(r"(?m)^goal = .*\n", content)
    return content[: goal.end()] + f"deadline = {deadline.isoformat()}\n" + content[goal.end() :]


def signature_values(number: int = 0, **overrides) -> dict:
    """The columns of a plausible confirmed signature of the campaign in scope (within an app
    context); pass only what the test is about."""
    return {
        "campaign_id": current_campaign().id,
        "name": f"Signer {number}",
        "email": f"signer{number}@example.ca",
        "email_domain": "example.ca",
        "postal_code": "K1A 0B1",
        "country": "CA",
        "comment": "",
        "public": False,
        "updates": False,
        "language": "en",
        "source": "",
        "signed_at": ago(hours=1),
        "confirmed_at": ago(minutes=55),
        "emails_queued": 0,
        **overrides,
    }


def home_campaign(app):
    """The campaign the app serves at its root addresses (its CAMPAIGN_FILE's), as it stands."""
    with app.app_context():
        registry = app.extensions["campaigns"]
        registry.refresh()
        return registry.home


def change_campaign(app, **changes):
    """The app's campaign as if its file said `changes` (a deadline, retention_days...), in this
    process, until its stored campaign changes; the changed campaign."""
    campaign = dataclasses.replace(home_campaign(app), **changes)
    registry = app.extensions["campaigns"]
    registry.by_id[campaign.id] = registry.by_slug[campaign.slug] = registry.home = campaign
    return campaign


def _kind_table():
    """The kind's own table of the campaign in scope (Kind.answers_model), or None."""
    model = kind_for(current_campaign()).answers_model
    return None if model is None else model.__table__


def make_signature(app, number: int = 0, **overrides) -> Signature:
    """Insert one signature row straight into the database, bypassing the form, the mail and
    the count; for tests about what is done with rows (export, lists, emails). Overrides that
    are columns of the kind's own table (an open letter's `approved_at`...) go to its row there,
    which every signature of such a kind gets."""
    with app.app_context():
        table = _kind_table()
        own = (
            {}
            if table is None
            else {name: overrides.pop(name) for name in list(overrides) if name in table.c}
        )
        signature = Signature(**signature_values(number, **overrides))
        db.session.add(signature)
        db.session.flush()
        if table is not None:
            db.session.execute(
                table.insert().values(signature_id=signature.id, campaign_id=signature.campaign_id, **own)
            )
        db.session.commit()
        return signature


class SignerRow:
    """A signature as a test reads it: its columns, and its kind's own row's (Kind.answers_model)."""

    def __init__(self, signature: Signature, own: dict):
        self._signature, self._own = signature, own

    def __getattr__(self, name):
        if name in self._own:
            return self._own[name]
        return getattr(self._signature, name)


def signature_rows(app) -> list[SignerRow]:
    """Every signature of the database, oldest first, each with its kind's own columns."""
    with app.app_context():
        signatures = list(db.session.scalars(db.select(Signature).order_by(Signature.id)))
        own = {}
        for table in kind_tables():
            for row in db.session.execute(select(table)).mappings():
                own[row["signature_id"]] = dict(row)
        return [SignerRow(signature, own.get(signature.id, {})) for signature in signatures]


def kind_tables() -> list:
    """Every kind's own table (Kind.answers_model)."""
    models = (kind_named(name).answers_model for name in NAMES)
    return [model.__table__ for model in models if model is not None]


def outbox_rows(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))


def personal_values(app) -> dict[str, set[str]]:
    """Every text the database holds in a column marked personal (models.Personal), by
    "table.column"; in a JSON column (a submission's answers and letters), the texts under the
    names of personal columns."""
    names = {column.name for table in signer_tables() for column in personal_columns(table)}

    def texts(value) -> list[str]:
        if isinstance(value, dict):
            return [text for key, inner in value.items() if key in names for text in texts(inner)]
        if isinstance(value, list):
            return [text for inner in value for text in texts(inner)]
        return [value] if isinstance(value, str) and value else []  # flags and times say nothing

    found = defaultdict(set)
    with app.app_context():
        for table in signer_tables():
            columns = personal_columns(table)
            for row in db.session.execute(select(*columns)) if columns else ():
                for column, value in zip(columns, row, strict=True):
                    found[f"{table.name}.{column.name}"].update(texts(value))
        db.session.remove()
    return {column: values for column, values in found.items() if values}


def assert_no_half_written_rows(app, confirmed_over_submissions: bool = False):
    """Every signature is whole, with its email, and each campaign's count is what its kind counts.

    `confirmed_over_submissions`: an address was confirmed while later submissions of it were
    pending, and their emails not yet sent went with them (submissions.py): fewer in the outbox
    than queued.
    """
    with app.app_context():
        signatures = db.session.scalars(select(Signature)).all()
        for signature in signatures:
            outbox = db.session.scalar(select(func.count()).where(OutboxMessage.signature_id == signature.id))
            if confirmed_over_submissions:  # what went to the address, at most the day's five
                assert 0 < outbox <= min(signature.emails_queued, 5), (outbox, signature.emails_queued)
            else:
                assert outbox == signature.emails_queued <= 5
            assert signature.email == normalize_email(signature.email)
            assert 0 < len(signature.name) <= NAME_MAX and not CONTROL_CHARACTERS.search(signature.name)
            assert any(unicodedata.category(character).startswith("L") for character in signature.name)
            assert not [
                character
                for character in signature.name + signature.comment
                if unicodedata.category(character) == "Cf" and character not in "\u200c\u200d"
            ]
            assert signature.country and len(signature.country) == 2
            assert not CONTROL_CHARACTERS.search(signature.comment)
        for campaign in each_campaign():  # each count is what its kind counts, of its own rows
            shards = select(func.coalesce(func.sum(CountShard.count), 0)).where(
                CountShard.campaign_id == campaign.id
            )
            in_count = kind_for(campaign).counted(campaign.id)
            counted = select(func.count()).select_from(Signature).where(in_count)
            assert db.session.scalar(shards) == db.session.scalar(counted), campaign.slug
        db.session.remove()


# --- mail ----------------------------------------------------------------------------------


def build_pdfs(app) -> int:
    """Run the open letter's background PDF builder, for each open letter of the app, as if the
    list had been still long enough."""
    from app.campaigns import each_campaign
    from app.kinds.open_letter.pdfs import build_due_pdfs

    with app.app_context():
        return sum(
            build_due_pdfs(utcnow() + timedelta(hours=1))
            for campaign in each_campaign()
            if campaign.kind == "open_letter"
        )


def deliver(app, now=None) -> int:
    """Run the real deliverer until nothing more is due; how many were sent."""
    total = 0
    with app.app_context():
        while True:
            sent = mail_pass(now)
            total += sent
            if not sent:
                return total


def wait_until_a_message_is_in_hand(app, timeout: float = 30.0) -> None:
    """Until some deliverer has begun handing an outbox message to the mail server."""
    wait_until(lambda: any(row.handed_at for row in outbox_rows(app)), timeout)


def assert_finished_one_and_released_the_rest(app) -> tuple[list[OutboxMessage], list[OutboxMessage]]:
    """After a deliverer stopped mid-batch: the message in hand was sent, nothing new was started,
    and the rest are queued again as if never claimed. The sent rows and the released ones."""
    rows = outbox_rows(app)
    sent = [row for row in rows if row.status == OutboxMessage.SENT]
    released = [row for row in rows if row.status != OutboxMessage.SENT]
    assert 1 <= len(sent) <= 2, "the message in hand was finished; nothing new was started"
    for row in released:
        assert (row.status, row.lease_until, row.handed_at, row.attempts) == (
            OutboxMessage.QUEUED,
            None,
            None,
            0,
        )
    return sent, released


def text_part(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def link_in(message: EmailMessage, path_prefix: str, base: str = PUBLIC_URL) -> str:
    """The path of the first link in the text part that starts with base + prefix."""
    match = re.search(re.escape(base) + r"(" + re.escape(path_prefix) + r"[^\s]+)", text_part(message))
    assert match, f"no {path_prefix} link in:\n{text_part(message)}"
    return match.group(1)


# --- the site as a browser uses it -------------------------------------------------------


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token from the form on a page, as a browser would submit it."""
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no form on {path}"
    return match.group(1)


def sign(client, path: str = "/", **fields):
    """Fill in and send the sign form on the campaign page."""
    action = "/sign" + (path[1:] if path.startswith("/?") else "")
    data = {
        "name": "Ana Tremblay",
        "email": "ana@example.ca",
        "postal_code": "K1A 0B1",
        "country": "CA",
        "csrf_token": csrf_token(client, path),
        **fields,
    }
    return client.post(action, data={k: v for k, v in data.items() if v is not None})


def press_button(client, path: str):
    """Open a one-button page and press its button."""
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def sign_and_confirm(client, app, smtp, **fields):
    """Sign, get the email and press its confirm button, as a signer does; the confirm answer."""
    sign(client, **fields)
    deliver(app)
    return press_button(client, link_in(smtp.messages[-1], "/confirm/"))


def assert_every_field_labelled(page: str) -> None:
    """Every input, select and text area on the page has a <label for> (hidden ones aside)."""
    labels = set(re.findall(r'<label for="([^"]+)"', page))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
        if 'type="hidden"' in tag or 'type="submit"' in tag:
            continue
        match = re.search(r'\bid="([^"]+)"', tag)
        assert match and match.group(1) in labels, f"no label for {tag}"


# --- letters to representatives ---------------------------------------------------------------

LETTER_CAMPAIGN = Path(__file__).resolve().parent.parent / "campaigns" / "council-letter.toml"
# K1A: the mayor (every postal code) and the ward 1 councillor; K1J: ward 4's, who has no email.
LETTER_POSTAL_CODE = "K1A 0B1"
LETTER_SUBJECT = "Non à la reconnaissance faciale à Riverside"
LETTER_MESSAGE = "J'habite le quartier du Vieux-Port depuis vingt ans.\n\nVotez contre ce poste budgétaire."


def step_two(client, postal_code: str = LETTER_POSTAL_CODE):
    """A letter campaign's step 2 for a postal code, as step 1's form asks for it."""
    return client.get("/write", query_string={"postal_code": postal_code})


def write_letter(client, postal_code: str = LETTER_POSTAL_CODE, targets=("mayor", "ward-1"), **fields):
    """Step 2 as a writer fills it in: the page's own token, the representatives ticked, the letter."""
    page = step_two(client, postal_code)
    data = {
        "postal_code": postal_code,
        "targets": list(targets),
        "subject": LETTER_SUBJECT,
        "message": LETTER_MESSAGE,
        "name": "Ana Tremblay",
        "email": "ana@example.ca",
        "country": "CA",
        "csrf_token": CSRF.search(page.get_data(as_text=True)).group(1),
        **fields,
    }
    return client.post("/sign", data=data)


def confirm_letter(client, app, smtp):
    """Deliver the confirmation email and press its button; the button's answer."""
    deliver(app)
    confirmation = [message for message in smtp.messages if "/confirm/" in text_part(message)][-1]
    return press_button(client, link_in(confirmation, "/confirm/"))


def letters_to_representatives(smtp, writer: str = "ana@example.ca") -> list[EmailMessage]:
    """The letters the SMTP server received from one writer (their Reply-To)."""
    return [message for message in smtp.messages if message["Reply-To"] == writer]


# --- organizers ------------------------------------------------------------------------------


def add_organizer(app, email=ORGANIZER_EMAIL, password=ORGANIZER_PASSWORD):
    with app.app_context():
        return create_organizer(email, password)


def log_in(client, email=ORGANIZER_EMAIL, password=ORGANIZER_PASSWORD, next_path=None):
    """Submit the login form as an organizer would."""
    path = "/admin/login" + (f"?next={next_path}" if next_path else "")
    return client.post(
        path, data={"email": email, "password": password, "csrf_token": csrf_token(client, "/admin/login")}
    )


# --- open letters -----------------------------------------------------------------------------

OPEN_LETTER = Path(__file__).parent / "campaigns" / "open-letter.toml"
ORGANIZATION = {
    "signatory_type": "organization",
    "name": "Ligue des droits <b>numériques</b>",
    "email": "contact@ligue.example",
    "contact_name": "Zoé Secrète",
    "website": "ligue.example/fr",
    "title": "Should be ignored",
    "organization": "Ignored too",
    "postal_code": "",
}
INDIVIDUAL = {
    "signatory_type": "individual",
    "name": "Ana Tremblay",
    "email": "ana@example.ca",
    "title": "Professor of law",
    "organization": "University of Example",
    "website": "https://ignored.example",
    "contact_name": "Ignored Person",
}


def last_message_to(smtp, address: str):
    return [message for message in smtp.messages if message["To"] == address][-1]


def sign_and_confirm_as(client, app, smtp, fields) -> int:
    """Sign with `fields`, confirm by the emailed link; the new signature's id."""
    response = sign(client, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    deliver(app)
    confirmation = last_message_to(smtp, fields["email"])
    assert press_button(client, link_in(confirmation, "/confirm/")).status_code == 303
    deliver(app)
    return max(row.id for row in signature_rows(app))


def press_manage_button(client, manage: str, action: str):
    """Press one of the manage page's buttons, with the token from that page."""
    return client.post(f"{manage}/{action}", data={"csrf_token": csrf_token(client, manage)})


def review(organizer_client, signature_id: int, verdict: str):
    return organizer_client.post(
        f"/admin/signatures/{signature_id}/{verdict}",
        data={"csrf_token": csrf_token(organizer_client, "/admin/")},
    )


def count(client) -> dict:
    return json.loads(client.get("/api/count").get_data(as_text=True))


def count_cache_of(app):
    """This process's cached tally of the app's campaign (counter.CountCache)."""
    campaign = home_campaign(app)
    with app.app_context():
        return count_cache(campaign)


def forget_tally(app):
    count_cache_of(app).forget()


def public_pages(client) -> str:
    pages = [
        client.get(path).get_data(as_text=True) for path in ("/", "/?lang=fr", "/signers", "/signers?lang=fr")
    ]
    pages += [client.get("/embed").get_data(as_text=True), client.get("/api/count").get_data(as_text=True)]
    return "\n".join(pages)
