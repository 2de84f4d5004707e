"""Representatives a letter can go to: the campaign's CSV of targets, matched by postal code.

(Stand-in on the letter branch: CSV loading and prefix matching only. The targets
branch's module, with the Represent API client, replaces it at merge.)
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from .campaign import CampaignError

HEADER = ("id", "name", "role", "email", "area", "postal_prefixes")
ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PREFIX = re.compile(r"[A-Z0-9]{1,6}")
EVERYWHERE = "*"


@dataclass(frozen=True)
class Target:
    """One representative: who, what they are, where, and how to write to them ("" when we can't)."""

    id: str
    name: str
    role: str
    email: str
    area: str
    source: str = "csv"


def normalise_postal_code(text: str) -> str:
    """A postal code as prefixes are written: no spaces, capitals."""
    return "".join((text or "").split()).upper()


@dataclass(frozen=True)
class TargetList:
    """The campaign's targets with the prefixes each answers for."""

    targets: tuple[tuple[Target, tuple[str, ...]], ...]

    def matching(self, postal_code: str) -> list[Target]:
        """The targets whose prefix starts the postal code, or who answer for every code."""
        code = normalise_postal_code(postal_code)
        return [
            target
            for target, prefixes in self.targets
            if code and any(prefix == EVERYWHERE or code.startswith(prefix) for prefix in prefixes)
        ]


def _error(path: Path, line: int, message: str) -> CampaignError:
    return CampaignError(f"{path.name}, line {line}: {message}")


def _target(path: Path, line: int, row: dict) -> tuple[Target, tuple[str, ...]]:
    values = {key: (row.get(key) or "").strip() for key in HEADER}
    if not ID.fullmatch(values["id"]):
        raise _error(path, line, "id must be letters, digits, dots, dashes or underscores")
    for key in ("name", "role"):
        if not values[key]:
            raise _error(path, line, f"{key} is empty")
    if values["email"]:
        try:
            validate_email(values["email"], check_deliverability=False)
        except EmailNotValidError:
            raise _error(path, line, f'email "{values["email"]}" is not an email address') from None
    prefixes = tuple(values["postal_prefixes"].split())
    if not prefixes:
        raise _error(path, line, 'postal_prefixes is empty (write "*" for every postal code)')
    for prefix in prefixes:
        if prefix != EVERYWHERE and not PREFIX.fullmatch(prefix):
            raise _error(path, line, f'postal_prefixes: "{prefix}" is not a prefix like K1A')
    target = Target(values["id"], values["name"], values["role"], values["email"], values["area"])
    return target, prefixes


def load_targets(path: str | Path) -> TargetList:
    """Read and check a targets CSV; errors name the file, the line and the field."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != HEADER:
                raise _error(path, 1, f"the header must be {','.join(HEADER)}")
            rows = [_target(path, reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise CampaignError(f"{path}: no such targets file") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise CampaignError(f"{path.name}: not a UTF-8 CSV file ({error})") from None
    seen = set()
    for line, (target, _prefixes) in enumerate(rows, start=2):
        if target.id in seen:
            raise _error(path, line, f'id "{target.id}" is used twice')
        seen.add(target.id)
    if not rows:
        raise CampaignError(f"{path.name}: no targets")
    return TargetList(tuple(rows))


class RepresentClient:
    """Stand-in: the targets branch brings the real client of Open North's Represent API."""

    def __init__(self, base_url: str, levels=(), timeout: float = 3.0):
        self.base_url = base_url
        self.levels = tuple(levels)
        self.timeout = timeout


def find_targets(postal_code: str, targets: TargetList, client: RepresentClient | None) -> list[Target]:
    """The targets for a postal code (stand-in: the CSV alone)."""
    return targets.matching(postal_code)
