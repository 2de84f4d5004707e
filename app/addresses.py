"""Email addresses, postal codes and countries: validate, normalise, and name regions."""

import re
import string
import unicodedata
from functools import lru_cache

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

# ASCII digits: \d also matches Arabic-Indic and full-width ones, which no request to Represent
# or Canada Post's sorting can use (normalize_postal_code turns them into ASCII first).
CANADIAN_POSTAL_CODE = re.compile(
    r"^([ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z])\s*([0-9][ABCEGHJ-NPRSTV-Z][0-9])$"
)

# Canada Post's first letter of the postal code (forward sortation area) names the region.
PROVINCES = {
    "A": _l("Newfoundland and Labrador"),
    "B": _l("Nova Scotia"),
    "C": _l("Prince Edward Island"),
    "E": _l("New Brunswick"),
    "G": _l("Quebec"),
    "H": _l("Quebec"),
    "J": _l("Quebec"),
    "K": _l("Ontario"),
    "L": _l("Ontario"),
    "M": _l("Ontario"),
    "N": _l("Ontario"),
    "P": _l("Ontario"),
    "R": _l("Manitoba"),
    "S": _l("Saskatchewan"),
    "T": _l("Alberta"),
    "V": _l("British Columbia"),
    "X": _l("Northwest Territories and Nunavut"),
    "Y": _l("Yukon"),
}

ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

# Territory codes in CLDR that are not countries a person lives in.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}


def normalize_email(raw: str) -> str:
    """The one form an address is stored and compared in; ValueError when malformed.

    Syntax only: no DNS look-up, so a slow resolver can never slow a signature.
    The local part's ASCII letters are lower-cased and the domain kept in its ASCII
    (IDNA) form, so "Ana@Exämple.ca " and "ana@xn--exmple-cua.ca" are the same signer.
    Letters beyond ASCII keep their case: folding them changed the mailbox ("straße"
    became "strasse", another address at many providers).
    """
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return f"{checked.local_part.translate(ASCII_LOWER)}@{checked.ascii_domain.lower()}"


# Providers that deliver a.b.c@ and abc@ to the same mailbox; the second domain is the first's.
DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def one_person(email: str) -> str:
    """The form under which addresses count as one person for limits (never for storage): the
    `+tag` dropped from the local part, and dots too where the provider ignores them.

    `ana+1@example.ca` and `ana+2@example.ca` reach one mailbox at almost every provider;
    treated apart, one person could write to a representative as often as they have tags.
    """
    local, _, domain = email.rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in DOTS_IGNORED:
        domain = DOTS_IGNORED[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


@lru_cache(maxsize=1)
def _ascii_digits() -> dict[int, str]:
    """Every decimal digit Unicode knows (Arabic-Indic ٣, Devanagari ३...) to its ASCII digit."""
    return {
        code: str(unicodedata.decimal(chr(code)))
        for code in range(0x80, 0x110000)
        if unicodedata.category(chr(code)) == "Nd"
    }


def normalize_postal_code(raw: str, country: str) -> str:
    """Canadian codes as 'A1A 1A1' (ValueError if not one); others trimmed and upper-cased.

    Digits typed on an Arabic or a full-width (CJK) keyboard mean the code the signer lives
    at, so they are read as their ASCII digits (and full-width letters and spaces as theirs,
    by NFKC) rather than refused as "not a postal code": what is stored, counted by province
    and asked of Represent is ASCII alone.
    """
    if not raw.isascii():
        raw = unicodedata.normalize("NFKC", raw).translate(_ascii_digits())
    value = " ".join(raw.split()).upper()
    if country != "CA":
        return value
    match = CANADIAN_POSTAL_CODE.match(value)
    if not match:
        raise ValueError("not a Canadian postal code")
    return f"{match.group(1)} {match.group(2)}"


def region_name(postal_code: str, country: str) -> str:
    """Province or territory for Canada (from the first letter), else the country's name."""
    if country == "CA":
        province = PROVINCES.get(postal_code[:1].upper())
        return str(province) if province else ""
    return country_name(country)


def country_name(code: str, language: str | None = None) -> str:
    """The country's name in the given (or current) language."""
    from flask_babel import get_locale

    locale = Locale.parse(language) if language else get_locale()
    return locale.territories.get(code, code)


@lru_cache(maxsize=8)
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(code, name) pairs sorted by name in that language, Canada first (computed once)."""
    names = Locale.parse(language).territories
    countries = [
        (code, name)
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    ]
    countries.sort(key=lambda pair: unicodedata.normalize("NFKD", pair[1]).casefold())
    return (("CA", names["CA"]),) + tuple(pair for pair in countries if pair[0] != "CA")


def is_country(code: str) -> bool:
    """True for a two-letter code of a real country."""
    return len(code) == 2 and code not in _NOT_COUNTRIES and code in Locale.parse("en").territories
