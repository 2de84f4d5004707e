"""Who a letter can go to: the campaign's targets CSV, matched by postal code prefix, and
optionally Open North's Represent API, with the CSV alone whenever Represent cannot answer."""

from collections.abc import Iterable, Mapping

from .csv_file import load_targets
from .represent import DEFAULT_TIMEOUT, AnswerCache, RepresentClient, RepresentUnavailable
from .target import Target, TargetList, normalise_postal_code

__all__ = [
    "AnswerCache",
    "RepresentClient",
    "RepresentUnavailable",
    "Target",
    "TargetList",
    "find_targets",
    "load_targets",
    "merge_targets",
    "normalise_postal_code",
    "represent_client",
]


def find_targets(
    postal_code: str, targets: TargetList | None, represent: RepresentClient | None
) -> list[Target]:
    """The campaign's targets for this postal code, then Represent's that are not already
    there (same id or same address); the campaign's alone when Represent cannot answer."""
    found = targets.matching(postal_code) if targets is not None else []
    if represent is None:
        return found
    try:
        answer = represent.lookup(postal_code)
    except RepresentUnavailable:
        return found
    return merge_targets(found, answer)


def merge_targets(found: list[Target], more: Iterable[Target]) -> list[Target]:
    """`found`, then those of `more` not already there (same id or same address)."""
    ids = {target.id for target in found}
    emails = {target.email for target in found if target.email}
    for target in more:
        if target.id in ids or (target.email and target.email in emails):
            continue
        found.append(target)
        ids.add(target.id)
        if target.email:
            emails.add(target.email)
    return found


def represent_client(config: Mapping, levels: Iterable[str]) -> RepresentClient | None:
    """The client for REPRESENT_URL and REPRESENT_TIMEOUT, None when REPRESENT_URL is unset.
    Build it once per app (its cache is the process's): ValueError when the URL is not one."""
    url = (config.get("REPRESENT_URL") or "").strip()
    if not url:
        return None
    return RepresentClient(url, levels, timeout=config.get("REPRESENT_TIMEOUT") or DEFAULT_TIMEOUT)
