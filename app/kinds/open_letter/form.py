"""The open letter's sign form: an individual or an organization, and the fields that fit each."""

import re
from urllib.parse import urlsplit, urlunsplit

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from ...forms import NAME_MAX, ContainsLetter, SignForm, clean_line

INDIVIDUAL, ORGANIZATION = "individual", "organization"
TITLE_MAX, ORGANIZATION_MAX, WEBSITE_MAX = 100, 150, 300
# The fields only one type of signatory fills in; the other type's are ignored and not stored.
ONLY_FOR = {INDIVIDUAL: ("title", "organization"), ORGANIZATION: ("website", "contact_name")}
# "javascript:", "mailto:"... but not the "example.org:8080" of a host and its port.
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?![0-9]+(?:[/?#]|\Z))")
# A host name as browsers accept it: labels of letters, digits and hyphens (IDNs as typed).
HOST = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][\w-]{0,62}\Z", re.UNICODE)


def normalize_website(value: str) -> str:
    """An http or https address with a host name; "example.org" gets https://. ValueError otherwise."""
    if not value:
        return ""
    if any(character.isspace() for character in value) or "\\" in value:
        raise ValueError(value)
    if "://" not in value:
        if SCHEME.match(value):  # mailto:, javascript:, data: and the like: no site to visit
            raise ValueError(value)
        value = "https://" + value.removeprefix("//")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or parts.username or parts.password:
        raise ValueError(value)
    host = parts.hostname or ""
    if not HOST.match(host):
        raise ValueError(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        raise ValueError(value) from None
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def _optional_line(label, most: int, autocomplete: str, message) -> StringField:
    return StringField(
        label,
        filters=[clean_line],
        validators=[Length(max=most, message=message)],
        render_kw={"autocomplete": autocomplete, "maxlength": most},
    )


class OpenLetterForm(SignForm):
    """The contract's open letter fields: the petition's but `public`, plus the signatory's type
    and the fields of that type; `name` is the person's or the organization's name."""

    public = None  # signing an open letter is appearing on it
    signatory_type = RadioField(
        _l("I sign"),
        choices=[
            SelectChoice(INDIVIDUAL, _l("as an individual")),
            SelectChoice(ORGANIZATION, _l("on behalf of an organization")),
        ],
        default=INDIVIDUAL,
        validate_choice=False,  # validate_signatory_type explains better
    )
    title = _optional_line(
        _l("Title or role (optional)"),
        TITLE_MAX,
        "organization-title",
        _l("Your title can be at most %(max)d characters long."),
    )
    organization = _optional_line(
        _l("Organization you belong to (optional)"),
        ORGANIZATION_MAX,
        "organization",
        _l("The organization's name can be at most %(max)d characters long."),
    )
    website = StringField(
        _l("The organization's website (optional)"),
        filters=[clean_line],
        validators=[Length(max=WEBSITE_MAX, message=_l("That address is too long."))],
        render_kw={
            "autocomplete": "url",
            "maxlength": WEBSITE_MAX,
            "inputmode": "url",
            "spellcheck": "false",
        },
    )
    contact_name = StringField(
        _l("Your name (the person signing for the organization)"),
        filters=[clean_line],
        validators=[Length(max=NAME_MAX, message=_l("Your name can be at most %(max)d characters long."))],
        render_kw={"autocomplete": "name", "maxlength": NAME_MAX},
    )

    # The shared `name` field names the person, or the organization when one signs.
    NAME_LABELS = {
        INDIVIDUAL: _l("Full name"),
        ORGANIZATION: _l("Name of the organization"),
        None: _l("Your full name, or the organization's name"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name.label.text = self.NAME_LABELS[None]

    @property
    def is_organization(self) -> bool:
        return self.signatory_type.data == ORGANIZATION

    def validate_signatory_type(self, field):
        if field.data not in ONLY_FOR:
            raise ValidationError(_l("Choose whether you sign as an individual or for an organization."))

    def validate_postal_code(self, field):
        if field.data:  # optional on an open letter, but checked when given
            super().validate_postal_code(field)

    def validate_website(self, field):
        if not self.is_organization:
            return
        try:
            field.data = normalize_website(field.data or "")
        except ValueError:
            raise ValidationError(_l("Enter the website's address, like https://example.org.")) from None
        if len(field.data) > WEBSITE_MAX:  # "https://" added: the column holds no more
            raise ValidationError(_l("That address is too long."))

    def validate_contact_name(self, field):
        if not self.is_organization:
            return
        if not field.data:
            raise ValidationError(_l("Enter the name of the person signing for the organization."))
        ContainsLetter(_l("Enter the name of the person signing for the organization."))(self, field)

    def validate(self, extra_validators=None) -> bool:
        """Validate, then forget the other type's fields: they were shown (without JavaScript)
        but are ignored, so nothing typed in them can hold the form back."""
        super().validate(extra_validators)
        kept = ONLY_FOR.get(self.signatory_type.data, ())
        for name in (name for names in ONLY_FOR.values() for name in names if name not in kept):
            self[name].errors = []
            self[name].data = ""
        return not any(field.errors for field in self)

    def answers(self) -> dict[str, object]:
        """The answers by column (the other type's fields emptied by validate), listed once approved."""
        return {**super().answers(), "public": True}
