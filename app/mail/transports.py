"""Where mail goes: an SMTP server, or in development a Maildir for the mail viewer; and how
the server's answers sort into failures of one message or of the whole batch."""

import mailbox
import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import Flask, current_app


class TemporaryFailure(Exception):
    """The server cannot take mail now: the whole batch is worth trying again later."""


class MessageDeferred(Exception):
    """The server cannot take this one message now (a 4xx for its recipient)."""


class PermanentFailure(Exception):
    """The server refused this one message for good."""


class SMTPTransport:
    """One SMTP connection per batch, opened on first use, always with a timeout."""

    def __init__(self, config):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
        return False

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        cls = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        connection = cls(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
        if config["MAIL_USE_TLS"]:
            connection.starttls()
        if config["MAIL_USERNAME"]:
            connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        return connection

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            try:
                self.connection = self._connect()
            except (smtplib.SMTPException, OSError) as error:
                # Refused greetings and logins too: they say nothing about this message.
                raise TemporaryFailure(_describe(error)) from None
        try:
            self.connection.send_message(message)
        except smtplib.SMTPNotSupportedError:
            # A non-ASCII address the relay cannot carry; nothing was sent, the connection is fine.
            raise PermanentFailure("the mail server has no SMTPUTF8 for this address") from None
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
            self.connection.close()
            self.connection = None


def _describe(error: Exception) -> str:
    """What went wrong, without the server's text (it may quote the address)."""
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

    def send(self, message: EmailMessage) -> None:
        self.box.add(message)


def open_kept_mailbox() -> mailbox.Maildir:
    """The Maildir in instance/ where development mail is kept."""
    directory = Path(current_app.instance_path) / "mail"
    directory.parent.mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(directory, create=True)


def open_transport():
    """SMTP when a server is configured, otherwise the development mailbox."""
    if current_app.config["MAIL_SERVER"]:
        return SMTPTransport(current_app.config)
    return KeptMailTransport()


def can_deliver(app: Flask) -> bool:
    """Mail goes somewhere: a server, or the development mail viewer."""
    return bool(app.config["MAIL_SERVER"]) or app.config["DEVELOPMENT"]
