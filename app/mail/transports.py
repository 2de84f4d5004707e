"""Where mail goes: an SMTP server through Flask-Mail, or in development a Maildir for the mail
viewer; and how the server's answers sort into failures of one message or of the whole batch."""

import logging
import mailbox
import smtplib
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask_mail import BadHeaderError, Connection

from ..emails import Email
from .outbox import NO_SMTPUTF8

log = logging.getLogger(__name__)


class TemporaryFailure(Exception):
    """The server cannot take mail now: the whole batch is worth trying again later."""


class MessageDeferred(Exception):
    """The server cannot take this one message now (a 4xx for its recipient)."""


class PermanentFailure(Exception):
    """The server refused this one message for good."""


class SMTPConnection(Connection):
    """Flask-Mail's connection, with MAIL_TIMEOUT on every exchange from the greeting on.

    Flask-Mail 0.10 opens its connection without a timeout, and reads the greeting while
    opening it, so a hung server would hold the deliverer for ever. It also stays quiet:
    Flask-Mail would switch on smtplib's debug output (every address) with FLASK_DEBUG.
    It greets the server (EHLO) with MAIL_EHLO_NAME, or PUBLIC_URL's host: left to itself,
    smtplib looks the machine's own name up in DNS for every connection, which a slow
    resolver stalls for seconds, beyond any timeout. With TLS (MAIL_USE_TLS or MAIL_USE_SSL)
    the server's certificate and host name are verified, against the system's authorities
    or MAIL_CA_FILE's: Flask-Mail checks neither, so anyone on the path could read the
    password and every email.
    """

    def configure_host(self) -> smtplib.SMTP:
        mail = self.mail
        config = current_app.config
        context = relay_tls_context(config["MAIL_CA_FILE"])
        local_hostname = ehlo_name(config)
        if mail.use_ssl:
            host = smtplib.SMTP_SSL(
                mail.server, mail.port, local_hostname, timeout=config["MAIL_TIMEOUT"], context=context
            )
        else:
            host = smtplib.SMTP(mail.server, mail.port, local_hostname, timeout=config["MAIL_TIMEOUT"])
        if mail.use_tls:
            host.starttls(context=context)
        if mail.username:
            host.login(mail.username, mail.password or "")
        return host

    def send(self, message: Email, envelope_from: str | None = None) -> None:
        """Hand one message to the server, its envelope written here rather than by Flask-Mail.

        An internationalised address, which Flask-Mail cannot write, goes as it is (with
        SMTPUTF8). An 8-bit body is declared BODY=8BITMIME to a server that offers it, and
        re-encoded in 7 bits for one that does not.
        """
        if message.has_bad_headers():
            raise BadHeaderError()
        options = list(message.mail_options)
        data = message.as_bytes()
        if not data.isascii() and "BODY=8BITMIME" not in options:
            self.host.ehlo_or_helo_if_needed()  # what the server offers is known after EHLO
            if self.host.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            else:
                message.seven_bit = True
                data = message.as_bytes()
        self.host.sendmail(
            envelope_from or message.sender, sorted(message.send_to), data, options, message.rcpt_options
        )


def relay_tls_context(ca_file: str | None) -> ssl.SSLContext:
    """TLS to the mail server as a browser would do it: certificate and host name verified,
    against the system's authorities, or only MAIL_CA_FILE's for a private relay."""
    return ssl.create_default_context(cafile=ca_file)


def ehlo_name(config) -> str:
    """The name the deliverer greets the mail server with: MAIL_EHLO_NAME, or PUBLIC_URL's host."""
    return config["MAIL_EHLO_NAME"] or urlsplit(config["PUBLIC_URL"]).hostname or "localhost"


class SMTPTransport:
    """One Flask-Mail connection per batch, opened on first use."""

    def __init__(self):
        self.connection: SMTPConnection | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.connection is not None:
            try:
                self.connection.host.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.host.close()
        return False

    def send(self, message: Email) -> None:
        if self.connection is None:
            connection = SMTPConnection(current_app.extensions["mail"])
            try:
                connection.host = connection.configure_host()
            except (smtplib.SMTPException, OSError) as error:
                # Refused greetings and logins too: they say nothing about this message.
                if isinstance(error, ssl.SSLCertVerificationError):
                    log.warning(
                        "the mail server's TLS certificate was refused (%s); mail waits in the "
                        "outbox. For a relay with a private certificate authority, set MAIL_CA_FILE.",
                        _describe(error),
                    )
                raise TemporaryFailure(_describe(error)) from None
            self.connection = connection
        try:
            self.connection.send(message)
        except BadHeaderError:
            raise PermanentFailure("a header of the message has a line break") from None
        except smtplib.SMTPNotSupportedError:
            # A non-ASCII address the relay cannot carry; nothing was sent, the connection is fine.
            raise PermanentFailure(NO_SMTPUTF8) from None
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            listed = ", ".join(map(str, codes))
            if 421 in codes:  # the server is closing the connection (smtplib has closed it)
                self._drop()
                raise TemporaryFailure(f"{listed} recipient refused") from None
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"{listed} recipient refused") from None
            raise MessageDeferred(f"{listed} recipient deferred") from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            if 500 <= error.smtp_code < 600:  # smtplib has reset the conversation for the next message
                raise PermanentFailure(_describe(error)) from None
            self._drop()
            raise TemporaryFailure(_describe(error)) from None
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise TemporaryFailure(_describe(error)) from None

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.host.close()
            self.connection = None


def _describe(error: Exception) -> str:
    """What went wrong, without the server's text (it may quote the address)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        # OpenSSL's reason names the server's certificate, never a signer.
        return f"certificate verify failed: {error.verify_message}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} reply"
    return type(error).__name__


class KeptMailTransport:
    """Development without MAIL_SERVER: keep each message in a Maildir for the mail viewer."""

    def __init__(self):
        self.box = open_kept_mailbox()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def send(self, message: Email) -> None:
        self.box.add(message.as_bytes())


def open_kept_mailbox() -> mailbox.Maildir:
    """The Maildir in instance/ where development mail is kept."""
    directory = Path(current_app.instance_path) / "mail"
    directory.parent.mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(directory, create=True)


def open_transport():
    """SMTP when a server is configured, otherwise the development mailbox."""
    if current_app.config["MAIL_SERVER"]:
        return SMTPTransport()
    return KeptMailTransport()


def can_deliver(app: Flask) -> bool:
    """Mail goes somewhere: a server, or the development mail viewer."""
    return bool(app.config["MAIL_SERVER"]) or app.config["DEVELOPMENT"]
