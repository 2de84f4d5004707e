"""The campaign's targets CSV: read it and refuse, naming the line and the field, anything a
letter could go wrong with."""

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from ..addresses import normalize_email
from ..campaign import CampaignError
from .target import EVERYWHERE, Target, TargetList

HEADER = ("id", "name", "role", "email", "area", "postal_prefixes")
# An id is a checkbox's value and a cell in the export's space-separated `targets` column.
TARGET_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Ids the Represent look-up makes; a CSV id there could stand for someone else.
REPRESENT_ID_PREFIX = "rep:"
PREFIX = re.compile(r"[A-Z0-9]{1,6}")
FIELD_MAX = 200
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def load_targets(path: Path) -> TargetList:
    """The targets in `path`, in the file's order; CampaignError naming the file, line and field."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CampaignError(f"{path}: no such targets file") from None
    except OSError as error:
        raise CampaignError(f"{path}: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is no part of the header
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CampaignError(f"{path}: line {line}: not UTF-8 text; save the file as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    targets: list[Target] = []
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    try:
        for line, row in _numbered(reader):
            if line == 1:
                _check_header(row, path)
                continue
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            target = _target(row, f"{path}: line {line}")
            _check_unique(seen_ids, target.id, line, f"{path}: line {line}: id {target.id!r}")
            if target.email:
                _check_unique(seen_emails, target.email, line, f"{path}: line {line}: email {target.email!r}")
            targets.append(target)
    except csv.Error as error:
        raise CampaignError(f"{path}: line {reader.line_num}: not valid CSV ({error})") from None
    if reader.line_num == 0:
        raise CampaignError(f"{path}: empty; the first line must be {','.join(HEADER)}")
    return TargetList(tuple(targets))


def _numbered(reader) -> Iterator[tuple[int, list[str]]]:
    """Each row with the line it starts on (a quoted cell can span lines)."""
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _check_header(row: list[str], path: Path) -> None:
    if tuple(cell.strip() for cell in row) != HEADER:
        raise CampaignError(f"{path}: line 1: the header must be {','.join(HEADER)}, not {','.join(row)}")


def _check_unique(seen: dict[str, int], value: str, line: int, where: str) -> None:
    if value in seen:
        raise CampaignError(f"{where} is already on line {seen[value]}; each target needs its own")
    seen[value] = line


def _target(row: list[str], where: str) -> Target:
    if len(row) != len(HEADER):
        raise CampaignError(f"{where}: {len(row)} fields; each line needs {len(HEADER)} ({','.join(HEADER)})")
    values = dict(zip(HEADER, (cell.strip() for cell in row), strict=True))
    for field, value in values.items():
        if CONTROL_CHARACTERS.search(value):
            raise CampaignError(f"{where}: {field} must fit on one line, without control characters")
        if len(value) > FIELD_MAX:
            raise CampaignError(
                f"{where}: {field} has {len(value)} characters; at most {FIELD_MAX} are allowed"
            )
    return Target(
        id=_target_id(values["id"], where),
        name=values["name"] or _missing("name", where),
        role=values["role"],
        email=_email(values["email"], where),
        area=values["area"],
        source="csv",
        prefixes=_prefixes(values["postal_prefixes"], where),
    )


def _missing(field: str, where: str) -> NoReturn:
    raise CampaignError(f"{where}: {field} is empty")


def _target_id(value: str, where: str) -> str:
    if not value:
        _missing("id", where)
    if not TARGET_ID.fullmatch(value):
        raise CampaignError(
            f"{where}: id {value!r} may hold only letters A-Z and a-z, digits and _ . : -, at most 64 of them"
        )
    if value.startswith(REPRESENT_ID_PREFIX):
        raise CampaignError(
            f"{where}: id {value!r} starts with {REPRESENT_ID_PREFIX!r}, kept for Represent's"
        )
    return value


def _email(value: str, where: str) -> str:
    """The address in the form signers' addresses are stored in; "" when the target has none."""
    if not value:
        return ""
    try:
        return normalize_email(value)
    except ValueError as error:
        raise CampaignError(f"{where}: email {value!r} is not a valid address ({error})") from None


def _prefixes(value: str, where: str) -> tuple[str, ...]:
    prefixes = tuple(dict.fromkeys(value.split()))
    if not prefixes:
        raise CampaignError(f"{where}: postal_prefixes is empty; write {EVERYWHERE} for every postal code")
    for prefix in prefixes:
        if prefix != EVERYWHERE and not PREFIX.fullmatch(prefix):
            raise CampaignError(
                f"{where}: postal_prefixes has {prefix!r}; a prefix is 1 to 6 capital letters and digits "
                f"without spaces (K1A), or {EVERYWHERE} for every postal code"
            )
    return prefixes
