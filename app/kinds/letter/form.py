"""The letter's sign form: the representatives chosen, the edited subject and message, the signer."""

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ...forms import BLANK_LETTERS, KEPT_FORMAT_CHARACTERS, SignForm, strip_format_characters
from ...signatures import NewSignature
from ...targets import Target
from .lookup import offer, targets_for

SUBJECT_MAX, MESSAGE_MAX = 200, 5000
# The writer's name is the display name of the letter's From, "<name> (via <organization>)":
# with <, > or @ it could read "Prime Minister <pm@pm.gc.ca> (via Org)", and blank glyphs
# could push "(via ...)" out of view. Letters that draw nothing are never part of a name.
NAME_IN_HEADER_UNSAFE = frozenset("<>@")
NEVER_IN_A_NAME = BLANK_LETTERS | {"\u2800", "\u034f"}  # + braille blank, combining grapheme joiner
BLANK_RUN = 3  # blank glyphs in a row: two spaces are a slip of the thumb, more are padding


def _blank(character: str) -> bool:
    if character in KEPT_FORMAT_CHARACTERS:
        return False
    return character.isspace() or unicodedata.category(character) == "Cf" or character in NEVER_IN_A_NAME


def _has_blank_run(value: str) -> bool:
    run = 0
    for character in value.strip():
        run = run + 1 if _blank(character) else 0
        if run >= BLANK_RUN:
            return True
    return False


# The subject becomes a mail header: no control character and no line or paragraph separator
# (U+2028, U+2029) at all. The message may keep its line breaks and tabs, nothing else.
SUBJECT_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MESSAGE_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def letter_subject(value: str | None) -> str:
    """Invisible format characters dropped and the ends trimmed; control characters are left
    for the validator to refuse."""
    return strip_format_characters(value or "").strip()


def letter_message(value: str | None) -> str:
    """Like letter_subject, with the browser's CRLF line breaks made plain newlines."""
    return strip_format_characters((value or "").replace("\r\n", "\n")).strip()


class Refuses:
    """Refuses a value holding a character the pattern matches, never quietly removing it."""

    def __init__(self, pattern: re.Pattern, message):
        self.pattern = pattern
        self.message = message

    def __call__(self, form, field):
        if self.pattern.search(field.data or ""):
            raise ValidationError(self.message)


def _letter_field(field_class, label, clean, missing, most: int, too_long, unsafe, **render_kw):
    """The subject or the message: required, at most `most` characters, `unsafe` = (pattern,
    message) refused."""
    return field_class(
        label,
        filters=[clean],
        validators=[DataRequired(missing), Length(max=most, message=too_long), Refuses(*unsafe)],
        render_kw={"maxlength": most, **render_kw},
    )


@dataclass(frozen=True)
class LetterSignature(NewSignature):
    """A signature with the representatives its letter goes to, as found when signing."""

    letters: tuple[Target, ...] = ()


class LetterForm(SignForm):
    """Step 2: the letter to the representatives found for the postal code, and who sends it.

    `found` is the representatives for the postal code (None until the code is known and
    valid); only those of them with an email address can be ticked.
    """

    NOT_ANSWERS = SignForm.NOT_ANSWERS | {"offered"}

    comment = None
    public = None
    targets = SelectMultipleField(_l("Send my letter to"), validate_choice=False)
    # Represent's representatives this server offered for the postal code, signed (lookup.offer).
    offered = HiddenField()
    subject = _letter_field(
        StringField,
        _l("Subject"),
        letter_subject,
        missing=_l("Write the subject of your letter."),
        most=SUBJECT_MAX,
        too_long=_l("The subject can be at most %(max)d characters long."),
        unsafe=(SUBJECT_UNSAFE, _l("The subject must fit on one line, without special characters.")),
    )
    message = _letter_field(
        TextAreaField,
        _l("Message"),
        letter_message,
        missing=_l("Write your letter."),
        most=MESSAGE_MAX,
        too_long=_l("Your letter can be at most %(max)d characters long."),
        unsafe=(MESSAGE_UNSAFE, _l("Your letter contains characters that cannot be sent; remove them.")),
        rows=14,
    )

    found: list[Target] | None = None

    def validate_name(self, field):
        typed = field.raw_data[0] if field.raw_data else ""  # as typed: the filter folds spaces
        if NAME_IN_HEADER_UNSAFE.intersection(typed):
            raise ValidationError(
                _l(
                    "Your name cannot contain angle brackets or an at sign (@): "
                    "it signs your letter as its sender."
                )
            )
        if NEVER_IN_A_NAME.intersection(typed) or _has_blank_run(typed):
            raise ValidationError(
                _l(
                    "Your name cannot contain invisible characters or runs of blank space: "
                    "write it as you sign a letter."
                )
            )

    def validate_postal_code(self, field):
        if not (field.data or "").strip():
            raise ValidationError(_l("Enter your postal code, like K1A 0B1."))
        super().validate_postal_code(field)

    def validate_targets(self, field):
        if self.postal_code.errors:
            return
        self.find(self.postal_code.data, self.offered.data or "")
        writable = {target.id for target in self.found if target.email}
        if any(value not in writable for value in field.data or ()):
            raise ValidationError(_l("Choose among the representatives listed for your postal code."))
        if not field.data:
            raise ValidationError(_l("Choose at least one representative to write to."))

    def find(self, postal_code: str, offered: str = "") -> None:
        """Look the representatives up, and sign what is offered into the form."""
        self.found = targets_for(postal_code, offered)
        self.offered.data = offer(postal_code, self.found)

    def chosen(self) -> tuple[Target, ...]:
        """The representatives ticked, in the order they are listed."""
        ticked = set(self.targets.data or ())
        return tuple(target for target in self.found or () if target.id in ticked)

    def answers(self) -> dict[str, object]:
        answers = super().answers()
        answers["targets"] = " ".join(target.id for target in self.chosen())
        return answers

    def to_signature(self, language: str, source: str, consent_text: str) -> LetterSignature:
        return LetterSignature(
            self.answers(),
            language=language,
            source=source,
            consent_text=consent_text,
            letters=self.chosen(),
        )
