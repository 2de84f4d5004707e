"""What relays and mailboxes check, against real SMTP servers: the relay's TLS certificate, the
shape of each message, its words, and the envelope (EHLO name, BODY=8BITMIME)."""

import logging
import re
from datetime import timedelta

import pytest

from app import create_app
from app.config import ConfigError
from app.emails import build_message
from app.mail import NO_SMTPUTF8, cannot_reach
from app.models import OutboxMessage, utcnow
from helpers import (
    LETTER_CAMPAIGN,
    OPEN_LETTER,
    add_organizer,
    csrf_token,
    deliver,
    log_in,
    outbox_rows,
    settings,
    sign,
    text_part,
    write_letter,
)
from servers import CertificateAuthority, SMTPServer


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    return CertificateAuthority(tmp_path_factory.mktemp("relay-ca"))


@pytest.fixture
def tls_relay(request, authority):
    """A relay speaking TLS (STARTTLS, or TLS from the start), its certificate made for a host."""
    mode, host = request.param
    context = authority.server_context(host)
    server = SMTPServer(**{mode: context})
    server.mode = mode
    yield server
    server.stop()


def _tls_app(make_app, relay, **extra):
    use = "MAIL_USE_TLS" if relay.mode == "starttls" else "MAIL_USE_SSL"
    return make_app(MAIL_PORT=relay.port, **{use: True}, **extra)


BOTH_MODES = [("starttls", "127.0.0.1"), ("implicit_tls", "127.0.0.1")]


@pytest.mark.parametrize("tls_relay", BOTH_MODES, indirect=True, ids=["starttls", "ssl"])
def test_a_relay_with_a_certificate_no_authority_vouches_for_gets_nothing_and_the_log_says_why(
    make_app, tls_relay, caplog
):
    app = _tls_app(make_app, tls_relay)
    assert sign(app.test_client(), email="ana@example.ca").status_code == 303
    with caplog.at_level(logging.INFO, logger="app.mail"):
        assert deliver(app) == 0
    assert tls_relay.messages == []
    [row] = outbox_rows(app)
    assert (row.status, row.attempts) == (OutboxMessage.QUEUED, 1), "kept for a retry"
    assert row.last_error.startswith("certificate verify failed")
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "certificate verify failed" in warning.getMessage()
    assert "MAIL_CA_FILE" in warning.getMessage()


@pytest.mark.parametrize("tls_relay", BOTH_MODES, indirect=True, ids=["starttls", "ssl"])
def test_a_private_relay_is_trusted_through_mail_ca_file(make_app, tls_relay, authority):
    app = _tls_app(make_app, tls_relay, MAIL_CA_FILE=str(authority.certificate))
    assert sign(app.test_client(), email="ana@example.ca").status_code == 303
    assert deliver(app) == 1
    [message] = tls_relay.messages
    assert message["To"] == "ana@example.ca"


@pytest.mark.parametrize("tls_relay", [("starttls", "relay.example.net")], indirect=True, ids=["other-host"])
def test_a_trusted_certificate_for_another_host_is_refused(make_app, tls_relay, authority, caplog):
    app = _tls_app(make_app, tls_relay, MAIL_CA_FILE=str(authority.certificate))
    sign(app.test_client(), email="ana@example.ca")
    with caplog.at_level(logging.WARNING, logger="app.mail"):
        assert deliver(app) == 0
    assert tls_relay.messages == []
    [warning] = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert "certificate verify failed" in warning and "mismatch" in warning
    assert outbox_rows(app)[0].status == OutboxMessage.QUEUED


def test_a_mail_ca_file_that_holds_no_certificate_stops_start_up(database_url, tmp_path):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    for ca_file in (not_pem, tmp_path / "missing.pem"):
        with pytest.raises(ConfigError, match="MAIL_CA_FILE must name a readable file of PEM"):
            create_app(settings(database_url, tmp_path, MAIL_CA_FILE=str(ca_file)))


def test_signer_mail_is_one_multipart_alternative_with_a_plain_sender_name(client, app, smtp):
    sign(client, email="ana@example.ca")
    deliver(app)
    [message] = smtp.messages
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    [raw] = smtp.sink.raw
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nFrom: Coalition for Faces Without Files <no-reply@petition.test>\r\n" in b"\r\n" + headers
    assert b"=?" not in headers
    assert headers.count(b"MIME-Version:") == 1


def test_a_sender_name_is_encoded_only_when_it_is_not_ascii(app):
    with app.app_context():
        plain = build_message("a@example.ca", "S", "t", "<p>t</p>", "en", "Faces, Files (Canada)")
        accented = build_message("a@example.ca", "S", "t", "<p>t</p>", "fr", "Réseau québécois")
        assert b'\nFrom: "Faces, Files (Canada)" <' in plain.as_bytes()
        raw = accented.as_bytes()
    assert b"\nFrom: =?utf-8?" in raw and "Réseau".encode() not in raw


@pytest.mark.parametrize(
    "campaign, language, words",
    [
        (OPEN_LETTER, "en", "confirm your email address"),
        (OPEN_LETTER, "fr", "confirmer votre adresse courriel"),
        (LETTER_CAMPAIGN, "en", "confirm your email address"),
        (LETTER_CAMPAIGN, "fr", "votre adresse courriel confirmée"),
    ],
)
def test_confirmation_emails_ask_to_confirm_an_email_address_not_an_address(
    make_app, smtp, campaign, language, words
):
    # "Confirm your address" is a parcel scam's phrase to SpamAssassin.
    app = make_app(CAMPAIGN_FILE=str(campaign))
    client = app.test_client()
    client.get(f"/?lang={language}")
    if campaign == LETTER_CAMPAIGN:
        assert write_letter(client).status_code == 303
    else:
        assert sign(client, f"/?lang={language}").status_code == 303
    deliver(app)
    text = " ".join(text_part(smtp.messages[-1]).split())
    assert words in text
    assert "confirm your address" not in text and "confirmer votre adresse :" not in text


def test_the_deliverer_greets_the_server_with_mail_ehlo_name(make_app, smtp):
    app = make_app(MAIL_EHLO_NAME="mail.example.org")
    sign(app.test_client(), email="ana@example.ca")
    deliver(app)
    assert smtp.sink.greetings == ["mail.example.org"]


def test_an_8bit_body_is_declared_8bitmime_and_an_ascii_one_is_not(client, app, smtp):
    sign(client, "/?lang=fr", email="luc@example.ca")
    deliver(app)
    [raw] = smtp.sink.raw
    assert not raw.isascii(), "French text goes as 8-bit UTF-8"
    [options] = smtp.sink.mail_options
    assert "BODY=8BITMIME" in options
    with app.app_context():
        ascii_only = build_message("b@example.ca", "S", "plain", "<p>plain</p>", "en", "Org")
        assert ascii_only.as_bytes().isascii()


def test_a_relay_without_8bitmime_gets_the_same_text_in_7_bits(make_app):
    relay = SMTPServer(eightbitmime=False)
    try:
        app = make_app(MAIL_PORT=relay.port)
        sign(app.test_client(), "/?lang=fr", email="luc@example.ca")
        assert deliver(app) == 1
        [message] = relay.messages
        [raw] = relay.sink.raw
        assert raw.isascii()
        [options] = relay.sink.mail_options
        assert not [option for option in options if option.startswith("BODY=")]
        assert "Merci d’avoir signé «\u00a0Interdire" in text_part(message)
        assert message["Content-Language"] == "fr"
    finally:
        relay.stop()


def test_once_the_relay_refused_a_non_ascii_address_signers_of_such_addresses_are_told(make_app, ascii_relay):
    app = make_app(MAIL_PORT=ascii_relay.port)
    client = app.test_client()
    first = sign(client, email="josé@example.ca")
    assert "unreachable" not in first.headers["Location"], "nothing is known before the relay answers"
    assert deliver(app) == 0
    assert outbox_rows(app)[0].last_error == NO_SMTPUTF8

    answer = sign(client, email="zoé@example.ca")
    assert "unreachable=1" in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "could not send email lately to addresses with letters such as é" in page
    french = client.get(answer.headers["Location"] + "&lang=fr").get_data(as_text=True)
    assert "n’a pas pu écrire récemment aux adresses" in french
    assert "unreachable" not in sign(client, email="ana@example.ca").headers["Location"]

    # Resending says the same for a known address and an unknown one: a fact about the relay.
    for email in ("josé@example.ca", "ñu@example.ca"):
        resent = client.post(
            "/resend", data={"email": email, "csrf_token": csrf_token(client, "/check-inbox")}
        )
        assert resent.status_code == 303 and "unreachable=1" in resent.headers["Location"]
    with app.app_context():
        assert cannot_reach("zoé@example.ca", now=utcnow() + timedelta(days=2)) is False, "a day, then not"


def test_the_dashboard_counts_mail_the_relay_could_not_carry(make_app, ascii_relay):
    app = make_app(MAIL_PORT=ascii_relay.port)
    for email in ("josé@example.ca", "zoé@example.ca", "ana@example.ca"):
        sign(app.test_client(), email=email)
    assert deliver(app) == 1
    add_organizer(app)
    organizer = app.test_client()
    log_in(organizer)
    page = organizer.get("/admin/").get_data(as_text=True)
    label = "Of which to addresses with non-ASCII letters, which the mail server cannot carry (no SMTPUTF8)"
    assert re.search(re.escape(label) + r"</dt><dd[^>]*>2</dd>", page)
