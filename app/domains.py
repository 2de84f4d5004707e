"""Email domains, web hosts and names as a moderator should read them.

- Free-mail and personal-ISP providers: an address there says nothing of the organization
  it signs for (and many signatures from one of them in an hour mean nothing either).
- The registrable domain, to compare a signer's address with an organization's website
  (mail.amnesty.ca and amnesty.ca are one): the last two labels, or three under the
  two-level public suffixes listed here. This is a small part of the Public Suffix List,
  kept in the code so nothing is fetched at run time.
- Writing systems (scripts), from the letters' Unicode names: a host or a name that mixes
  Latin with a script that has Latin look-alikes (the Cyrillic а in аmnesty.ca) is a
  homograph, and so is a name written in compatibility forms (fullwidth or mathematical
  letters). The rule is Unicode's "moderately restrictive" one (UTS #39): one script,
  Chinese, Japanese or Korean mixes, or Latin and one other script that has no Latin
  look-alikes, so accented French names and Latin with Syllabics stay clean.
"""

import unicodedata
from urllib.parse import urlsplit, urlunsplit

import idna

# Whole domains: free mail, and the mail of Canadian and French Internet providers.
FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "msn.com",
        "ymail.com",
        "rocketmail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aim.com",
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "tutanota.com",
        "tuta.io",
        "fastmail.com",
        "zoho.com",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "web.de",
        "hey.com",
        "duck.com",
        "qq.com",
        "163.com",
        "videotron.ca",
        "sympatico.ca",
        "bell.net",
        "rogers.com",
        "shaw.ca",
        "telus.net",
        "cogeco.ca",
        "eastlink.ca",
        "sasktel.net",
        "mts.net",
        "globetrotter.net",
        "xplornet.com",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "sfr.fr",
        "laposte.net",
    }
)
# Providers with a domain in many countries (hotmail.fr, yahoo.co.uk, gmx.de...): the
# registrable domain's first label.
FREE_MAIL_NAMES = frozenset({"hotmail", "outlook", "live", "windowslive", "yahoo", "gmx"})

# Two-level public suffixes under which organizations register their own name.
TWO_LEVEL_SUFFIXES = frozenset(
    {
        f"{province}.ca"
        for province in ("ab", "bc", "mb", "nb", "nf", "nl", "ns", "nt", "nu", "on", "pe", "qc", "sk", "yk")
    }
    | {"gc.ca"}
    | {f"{second}.uk" for second in ("co", "org", "ac", "gov", "ltd", "plc", "me", "net", "nhs", "sch")}
    | {f"{second}.au" for second in ("com", "org", "net", "edu", "gov", "asn")}
    | {f"{second}.nz" for second in ("co", "org", "net", "ac", "govt")}
    | {f"{second}.za" for second in ("co", "org", "ac", "gov")}
    | {f"{second}.fr" for second in ("gouv", "asso")}
    | {"co.jp", "or.jp", "ac.jp", "com.br", "org.br", "com.mx", "org.mx", "co.in", "org.in", "com.cn"}
)

# Scripts with letters that pass for Latin ones (а е о р с у х, ο ν, օ ս, ꓮ...).
LATIN_LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC", "LISU"})
# Mixes that are one writing system (UTS #39's "highly restrictive" sets).
ONE_WRITING = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
)
# Cyrillic and Greek letters that look like Latin ones: a name of these alone reads as Latin.
LATIN_LOOKALIKES = frozenset("АВЕКМНОРСТХУІЈЅԚԜаеорсухіјѕԁһӏԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧοινρυκ")


def ascii_host(host: str) -> str:
    """A host or email domain in its lower-case ASCII (IDNA) form; as given, lower-cased, if
    it has none."""
    host = host.strip().rstrip(".").lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


def unicode_host(host: str) -> str:
    """A host or email domain as people read it: its xn-- labels decoded."""
    try:
        return idna.decode(host)
    except idna.IDNAError:
        return host


def registrable_domain(host: str) -> str:
    """The part of a host its owner registered: mail.amnesty.ca and amnesty.ca give amnesty.ca,
    www.gouv.qc.ca gives gouv.qc.ca."""
    labels = ascii_host(host).split(".")
    keep = 3 if ".".join(labels[-2:]) in TWO_LEVEL_SUFFIXES else 2
    return ".".join(labels[-keep:])


def is_free_mail(domain: str) -> bool:
    """Whether an address at `domain` could be anyone's: free mail or a personal Internet provider."""
    registrable = registrable_domain(domain)
    return registrable in FREE_MAIL or registrable.split(".")[0] in FREE_MAIL_NAMES


def script(character: str) -> str:
    """The writing system of a letter from its Unicode name ("LATIN SMALL LETTER E WITH
    ACUTE": LATIN); "" for what every script shares (digits, marks, punctuation, modifiers)."""
    if unicodedata.category(character) not in ("Lu", "Ll", "Lt", "Lo"):
        return ""
    return unicodedata.name(character, "").split(" ", 1)[0]


def scripts(text: str) -> frozenset[str]:
    """The writing systems of a text's letters (compatibility forms read as what they stand for)."""
    return frozenset(script(character) for character in unicodedata.normalize("NFKC", text)) - {""}


def mixes_scripts(text: str) -> bool:
    """Whether a text mixes writing systems the way a homograph does: Latin with Cyrillic, Greek
    and the like, or two scripts other than Latin that are not one writing system."""
    found = scripts(text)
    if len(found) <= 1 or any(found <= together for together in ONE_WRITING):
        return False
    others = found - {"LATIN"}
    return len(others) > 1 or not others.isdisjoint(LATIN_LOOKALIKE_SCRIPTS)


def looks_like_latin(text: str) -> bool:
    """Whether a text passes for Latin letters without being Latin: fullwidth or mathematical
    letters, or Cyrillic or Greek letters that all have a Latin twin (АВС for ABC)."""
    if any(
        unicodedata.category(character).startswith("L")
        and unicodedata.normalize("NFKC", character) != character
        for character in unicodedata.normalize("NFC", text)
    ):
        return True
    letters = [character for character in text if script(character)]
    return bool(letters) and "LATIN" not in scripts(text) and all(c in LATIN_LOOKALIKES for c in letters)


def is_homograph(text: str) -> bool:
    """A name or host that may pose as another: mixed scripts or Latin look-alikes."""
    return mixes_scripts(text) or looks_like_latin(text)


def website_host(url: str) -> str:
    """The host of a web address, as typed ("" if it has none)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def shown_host(host: str) -> str:
    """A host or email domain as a moderator should read it: in its own letters, or in its xn--
    form when it may pose as another."""
    readable = unicode_host(host)
    return ascii_host(host) if is_homograph(readable) else readable


def shown_website(url: str) -> str:
    """A web address as a moderator should read it: https://аmnesty.ca (a Cyrillic а) reads
    https://xn--mnesty-2nf.ca/."""
    host = website_host(url)
    if not host or shown_host(host) == host:
        return url
    parts = urlsplit(url)
    netloc = shown_host(host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
