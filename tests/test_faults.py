"""Faults and bad input: locked or missing databases, stalled mail, 500s, and what the logs hold."""

import logging
import socket
import threading
from collections import defaultdict

import pytest
from sqlalchemy import JSON, String

from app.jobs import Jobs
from app.models import OutboxMessage
from app.personal import personal_columns, signer_tables
from helpers import (
    INDIVIDUAL,
    LETTER_CAMPAIGN,
    OPEN_LETTER,
    ORGANIZATION,
    LockHolder,
    add_organizer,
    confirm_letter,
    csrf_token,
    deliver,
    empty_tables,
    link_in,
    log_in,
    outbox_rows,
    personal_values,
    press_button,
    sign,
    sign_and_confirm_as,
    signature_rows,
    write_letter,
)


@pytest.mark.parametrize(
    "email",
    [
        "ana@example.ca\r\nBcc: victim@example.ca",
        "ana@exa\nmple.ca",
        "ana\x00@example.ca",
        "ana@example.ca\rX-Injected: 1",
    ],
)
def test_line_breaks_and_control_characters_in_an_address_are_refused_not_stripped(client, app, email):
    response = sign(client, email=email)
    assert response.status_code == 422
    assert "Enter an email address like name@example.com." in response.get_data(as_text=True)
    assert signature_rows(app) == []


def test_an_address_with_surrounding_white_space_is_still_fine(client, app):
    assert sign(client, email="\t ana@example.ca \r\n").status_code == 303
    assert signature_rows(app)[0].email == "ana@example.ca"


def test_too_large_a_request_gets_a_413_page(client):
    response = client.post("/sign", data={"comment": "x" * 100_000})
    assert response.status_code == 413
    assert "too much" in response.get_data(as_text=True)


def test_a_locked_database_answers_503_with_retry_after_and_writes_nothing(make_app, database_url):
    app = make_app(DATABASE_LOCK_TIMEOUT_MS=100)
    client = app.test_client()
    token = csrf_token(client)
    with LockHolder(database_url):
        response = client.post(
            "/sign",
            data={
                "name": "Ana",
                "email": "ana@example.ca",
                "postal_code": "K1A 0B1",
                "country": "CA",
                "csrf_token": token,
            },
        )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "Nothing you sent was lost" in response.get_data(as_text=True)
    assert signature_rows(app) == []
    assert sign(client, email="ana@example.ca").status_code == 303, "and it works once the lock is gone"


def test_an_unreachable_database_answers_503_never_500(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    client = app.test_client()
    for path in ("/", "/api/count", "/signers", "/healthz"):
        response = client.get(path)
        assert response.status_code == 503, path
    assert client.get("/").headers["Retry-After"] == "5"
    assert client.get("/api/count").get_json() == {"error": 503}


def test_an_unexpected_error_shows_a_generic_page_with_an_incident_id_that_is_in_the_log(make_app, caplog):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def broken():
        raise RuntimeError("secret detail ana@example.ca")

    app.add_url_rule("/broken", "broken", broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/broken?email=ana@example.ca")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "secret detail" not in page and "Traceback" not in page
    incident = page.split("quote incident ")[1][:8]
    [record] = [r for r in caplog.records if incident in r.getMessage()]
    assert "ana@example.ca" not in record.getMessage()
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


class StalledSMTPServer:
    """Accepts connections and never says a word, like a mail server that has hung."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(5)
        self.port = self.listener.getsockname()[1]
        self.connected = threading.Event()
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)
            self.connected.set()

    def close(self):
        self.listener.close()
        for connection in self.held:
            connection.close()


def test_a_stalled_mail_server_delays_mail_but_never_a_page(make_app):
    stalled = StalledSMTPServer()
    app = make_app(MAIL_PORT=stalled.port, MAIL_TIMEOUT=3)
    client = app.test_client()
    try:
        assert sign(client, email="first@example.ca").status_code == 303
        jobs = Jobs(app, poll_seconds=0.05).start()
        assert stalled.connected.wait(10), "the deliverer is now stuck waiting for a greeting"
        # While it waits, signers are answered at once: the page never talks to SMTP.
        for number in range(5):
            assert sign(client, email=f"next{number}@example.ca").status_code == 303
        assert jobs.is_alive()
        jobs.stop()
    finally:
        stalled.close()
    first = outbox_rows(app)[0]
    assert first.status == OutboxMessage.QUEUED and first.attempts == 1
    assert first.last_error in ("TimeoutError", "SMTPServerDisconnected", "timeout")
    assert len(signature_rows(app)) == 6


def test_a_stalled_mail_server_cannot_hold_the_deliverer_beyond_mail_timeout(make_app):
    stalled = StalledSMTPServer()
    app = make_app(MAIL_PORT=stalled.port, MAIL_TIMEOUT=1)
    assert sign(app.test_client(), email="first@example.ca").status_code == 303
    finished = threading.Event()

    def run():
        deliver(app)
        finished.set()

    threading.Thread(target=run, daemon=True).start()
    try:
        assert stalled.connected.wait(10)
        # Far beyond MAIL_TIMEOUT: only a deliverer without a timeout is still waiting then.
        assert finished.wait(30), "the deliverer still waits for the server's greeting"
    finally:
        stalled.close()
    [row] = outbox_rows(app)
    assert (row.status, row.attempts) == (OutboxMessage.QUEUED, 1)
    # smtplib reports a read that timed out as the server gone.
    assert row.last_error in ("TimeoutError", "SMTPServerDisconnected")


def test_the_logs_of_a_whole_journey_hold_none_of_the_signers_data(make_app, smtp, caplog):
    # What is checked: whatever the database holds in a column marked personal (models.Personal),
    # read along journeys through each kind of campaign; every such column is filled on the way,
    # so a column added tomorrow is checked too.
    held = defaultdict(set)

    def look(app):
        for column, values in personal_values(app).items():
            held[column] |= values

    secrets_of_signer = ["198.51.100.77"]  # and the token of their link, below
    environ = {"REMOTE_ADDR": "198.51.100.77"}
    with caplog.at_level(logging.DEBUG):
        app = make_app()
        client = app.test_client()
        sign(
            client,
            email="zoe.personne@example.ca",
            name="Zoë Personne",
            postal_code="H2X 1Y4",
            comment="Ma vie privée compte",
            updates="y",
            environ_base=environ,
        )
        sign(
            client,
            email="ZOE.personne@example.ca",
            comment="Une autre raison",
            updates="y",
            environ_base=environ,
        )
        look(app)
        deliver(app)
        confirm_path = link_in(smtp.messages[0], "/confirm/")
        secrets_of_signer.append(confirm_path.rsplit("/", 1)[1])
        press_button(client, confirm_path)
        client.post("/resend", data={"email": "zoe.personne@example.ca", "csrf_token": csrf_token(client)})
        look(app)
        smtp.stop()
        try:
            sign(client, email="other@example.ca", environ_base=environ)
            deliver(app)
        finally:
            smtp.start()
        add_organizer(app)
        log_in(app.test_client(), password="wrong password entirely")
        look(app)

        # Each kind's journey in a deployment of its own: with two campaigns, `/` would be the
        # organization's page, not the campaign the journey signs at.
        with app.app_context():
            empty_tables()
        open_letter = make_app(CAMPAIGN_FILE=str(OPEN_LETTER))
        for fields in (
            {**ORGANIZATION, "email": "ligue@example.org"},
            {**INDIVIDUAL, "email": "prof@example.org"},
        ):
            sign_and_confirm_as(open_letter.test_client(), open_letter, smtp, fields)
            look(open_letter)

        with open_letter.app_context():
            empty_tables()
        letter = make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN))
        writer = letter.test_client()
        write_letter(writer, email="lou@example.ca", name="Lou Écrivain")
        write_letter(writer, email="lou@example.ca", name="Lou Écrivain", subject="Mon propre sujet")
        look(letter)
        confirm_letter(writer, letter, smtp)
        deliver(letter)
        look(letter)
    personal = {
        f"{table.name}.{column.name}"
        for table in signer_tables()
        for column in personal_columns(table)
        if isinstance(column.type, String | JSON)
    }
    assert personal - held.keys() == set(), (
        "give these a value on the journey, so the logs are checked for them"
    )
    ours = [record for record in caplog.records if not record.name.startswith("mail.log")]  # aiosmtpd's own
    assert ours, "the journey logged something (the retry at least), so the check means something"
    text = "\n".join(record.getMessage() for record in ours)
    for secret in secrets_of_signer + sorted(set().union(*held.values())):
        assert secret not in text, secret
