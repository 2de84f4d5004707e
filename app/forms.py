"""Web forms: signing, resending a link, organizer login and finding a signer."""

import re
import unicodedata
from functools import lru_cache

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import html_params

from .addresses import country_choices, is_country, normalize_email, normalize_postal_code
from .signatures import NewSignature

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Values that end up in a mail header may hold no control character at all (CR and LF above all).
HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NAME_MAX, COMMENT_MAX, EMAIL_MAX = 100, 1000, 320
# Format characters (Unicode category Cf: direction overrides and isolates, zero-width space,
# soft hyphen, byte-order mark...) draw nothing, yet can make a name blank or make the text
# around it read backwards. The zero-width non-joiner and joiner stay: Persian and Indic
# spellings and emoji sequences need them, and alone they make no name (one needs a letter).
KEPT_FORMAT_CHARACTERS = frozenset("\u200c\u200d")
# Hangul fillers count as letters, yet draw nothing: the classic way to a blank name.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def _drawn(character: str) -> bool:
    if character in BLANK_LETTERS:
        return False
    return character in KEPT_FORMAT_CHARACTERS or unicodedata.category(character) != "Cf"


def strip_format_characters(value: str) -> str:
    """Drop invisible format characters (direction overrides, zero-width spaces...), nothing else."""
    return "".join(filter(_drawn, value))


def strip_invisible(value: str) -> str:
    """Drop control characters (NUL included) and invisible format characters."""
    return strip_format_characters(CONTROL_CHARACTERS.sub("", value))


def clean_line(value: str | None) -> str:
    """Trim, drop control and invisible format characters, and fold runs of white space."""
    if value is None:
        return ""
    return " ".join(strip_invisible(value).split())


def clean_text(value: str | None) -> str:
    """Like clean_line, but keep line breaks between paragraphs."""
    if value is None:
        return ""
    lines = strip_invisible(value.replace("\r\n", "\n")).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()


class ContainsLetter:
    """Refuses a value without a single letter (a name of digits, dashes or blank symbols)."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not any(unicodedata.category(character).startswith("L") for character in field.data or ""):
            raise ValidationError(self.message)


def trim(value: str | None) -> str:
    """Surrounding white space only: anything inside is for the validator to judge."""
    return (value or "").strip()


@lru_cache(maxsize=512)
def _country_options(language: str, selected: str) -> Markup:
    return Markup(
        "".join(
            f'<option{" selected" if code == selected else ""} value="{code}">{escape(name)}</option>'
            for code, name in country_choices(language)
        )
    )


class CountrySelect:
    """The country list, rendered once per language and selection: WTForms' own select widget
    spent most of the campaign page's time building these 250 options on every request."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        language = str(get_locale() or "en")
        return Markup(
            f"<select {html_params(name=field.name, **kwargs)}>"
            f"{_country_options(language, field.data or '')}</select>"
        )


class EmailAddress:
    """Validates the address's syntax and stores its normalised form on the field.

    The address goes into a mail header, so a CR, LF or any other control character
    inside it is refused, never quietly removed.
    """

    def __call__(self, form, field):
        if HEADER_UNSAFE.search(field.data or ""):
            raise ValidationError(_l("Enter an email address like name@example.com."))
        try:
            field.normalized = normalize_email(field.data or "")
        except ValueError:
            raise ValidationError(_l("Enter an email address like name@example.com.")) from None


def email_field(login: bool = False) -> EmailField:
    """The email address input, the same on every form that asks for it.

    The login form only looks the address up: it checks no syntax, caps no length in the
    browser, and tells password managers it is a user name.
    """
    validators = [
        DataRequired(_l("Enter your email address.")),
        Length(max=EMAIL_MAX, message=_l("That email address is too long.")),
    ]
    render_kw = {"autocomplete": "username" if login else "email", "spellcheck": "false"}
    if not login:
        validators.append(EmailAddress())
        render_kw["maxlength"] = EMAIL_MAX
    return EmailField(_l("Email address"), filters=[trim], validators=validators, render_kw=render_kw)


def _answer(field):
    # The email validator leaves the address's normalised form beside what was typed.
    value = getattr(field, "normalized", field.data)
    return "" if value is None else value


class SignForm(FlaskForm):
    """The campaign's sign form; field names are part of the public contract.

    Every field but the CSRF token and the honeypot is a column of `signatures` by the
    same name: adding one here (with its column and migration) is all signing needs.
    """

    NOT_ANSWERS = frozenset({"csrf_token", "homepage"})

    name = StringField(
        _l("Full name"),
        filters=[clean_line],
        validators=[
            DataRequired(_l("Enter your name.")),
            ContainsLetter(_l("Enter your name.")),
            Length(max=NAME_MAX, message=_l("Your name can be at most %(max)d characters long.")),
        ],
        render_kw={"autocomplete": "name", "maxlength": NAME_MAX},
    )
    email = email_field()
    postal_code = StringField(
        _l("Postal code"),
        filters=[clean_line],
        validators=[Length(max=16, message=_l("That postal code is too long."))],
        render_kw={"autocomplete": "postal-code", "maxlength": 16, "autocapitalize": "characters"},
    )
    country = SelectField(
        _l("Country"),
        default="CA",
        validate_choice=False,  # validate_country explains better
        widget=CountrySelect(),
        render_kw={"autocomplete": "country"},
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        filters=[clean_text],
        validators=[
            Optional(),
            Length(max=COMMENT_MAX, message=_l("Your comment can be at most %(max)d characters long.")),
        ],
        render_kw={"maxlength": COMMENT_MAX, "rows": 3},
    )
    public = BooleanField(_l("Show my name and province in the public list of signers"))
    updates = BooleanField()  # label comes from the consent wording, see signatures.consent_wording
    # Honeypot: hidden from people by CSS and from assistive technology; bots fill it in.
    # (Not named `website`: that is an open letter's real field.) post_form renders it.
    homepage = StringField(_l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"})

    def validate_country(self, field):
        if not is_country(field.data or ""):
            raise ValidationError(_l("Choose your country from the list."))

    def validate_postal_code(self, field):
        country = self.country.data or "CA"
        if country == "CA" and not field.data:
            raise ValidationError(_l("Enter your postal code, like K1A 0B1."))
        if field.data:
            try:
                field.data = normalize_postal_code(field.data, country)
            except ValueError:
                raise ValidationError(_l("Enter a Canadian postal code, like K1A 0B1.")) from None

    @property
    def is_bot(self) -> bool:
        """A human never sees the honeypot, so anything in it means a script."""
        return bool((self.homepage.data or "").strip())

    def answers(self) -> dict[str, object]:
        """The validated, normalised answers by column name."""
        return {
            field.short_name: _answer(field) for field in self if field.short_name not in self.NOT_ANSWERS
        }

    def to_signature(self, language: str, source: str, consent_text: str) -> NewSignature:
        """The signing service's input: the answers, and how and in which language they came."""
        return NewSignature(self.answers(), language=language, source=source, consent_text=consent_text)


class ResendForm(FlaskForm):
    """Ask for the confirmation link again; the answer never says if we know the address."""

    email = email_field()


class LoginForm(FlaskForm):
    """The organizer login form: the contract's `email` and `password`."""

    email = email_field(login=True)
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Enter your password.")),
            Length(max=1024, message=_l("That password is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class FindSignerForm(FlaskForm):
    """Look a signer up by email address (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    email = email_field()
