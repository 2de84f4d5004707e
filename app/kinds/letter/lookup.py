"""Who represents a postal code: the campaign's targets, and Represent's answers when it is configured.

Step 2 carries Represent's representatives it offered, signed, back to the server: the form may
come back to another worker, whose cache is cold while Represent is down or slow, and what the
server itself offered for that postal code a moment ago is still what the signer may choose from.
"""

from flask import current_app

from ...campaign import current_campaign
from ...targets import (
    RepresentClient,
    Target,
    find_targets,
    merge_targets,
    normalise_postal_code,
    represent_client,
)
from ...tokens import OFFERED_TARGETS, InvalidToken, make_token, read_value

# app.extensions key of this app's Represent clients, one for each set of levels campaigns ask for:
# each one's cache is the process's, so it is made once.
CLIENT = "represent"
# The parts of a Represent target the offer keeps, in this order.
OFFERED_FIELDS = ("id", "name", "role", "email", "area")


def app_represent_client() -> RepresentClient | None:
    """This app's client of the Represent API for the campaign's levels; None without REPRESENT_URL."""
    clients = current_app.extensions.setdefault(CLIENT, {})
    levels = current_campaign().settings.represent_levels
    if levels not in clients:
        clients[levels] = represent_client(current_app.config, levels)
    return clients[levels]


def offer(postal_code: str, found: list[Target]) -> str:
    """The signed token of Represent's representatives among `found`, for this postal code and
    this campaign only."""
    represent = [[getattr(t, field) for field in OFFERED_FIELDS] for t in found if t.source == "represent"]
    value = {
        "campaign": current_campaign().id,
        "code": normalise_postal_code(postal_code),
        "targets": represent,
    }
    return make_token(OFFERED_TARGETS, value)


def _offered(postal_code: str, token: str) -> list[Target] | None:
    """Represent's representatives the token says were offered for this postal code; None when
    there is no token, or it is forged, expired, or for another code."""
    try:
        value = read_value(OFFERED_TARGETS, token) if token else None
    except InvalidToken:
        return None
    if not isinstance(value, dict) or value.get("code") != normalise_postal_code(postal_code):
        return None
    if value.get("campaign") != current_campaign().id:
        return None
    rows = value.get("targets")
    if not isinstance(rows, list) or not all(
        isinstance(row, list) and len(row) == len(OFFERED_FIELDS) and all(isinstance(v, str) for v in row)
        for row in rows
    ):
        return None
    return [Target(**dict(zip(OFFERED_FIELDS, row, strict=True)), source="represent") for row in rows]


def targets_for(postal_code: str, offered: str = "") -> list[Target]:
    """The representatives found for a postal code: the campaign's, and Represent's as `offered`
    says the server offered them for this code, or else as Represent (or its cache) answers now."""
    targets = current_campaign().settings.targets
    represent = _offered(postal_code, offered)
    if represent is None:
        return find_targets(postal_code, targets, app_represent_client())
    return merge_targets(targets.matching(postal_code), represent)
