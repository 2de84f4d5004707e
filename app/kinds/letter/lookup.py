"""Who represents a postal code: the campaign's targets, and Represent's answers when it is configured."""

from flask import current_app

from ...campaign import current_campaign
from ...targets import RepresentClient, Target, find_targets


def represent_client() -> RepresentClient | None:
    """This app's client of the Represent API, made once; None when REPRESENT_URL is unset."""
    config = current_app.config
    if not config.get("REPRESENT_URL"):
        return None
    client = current_app.extensions.get("represent")
    if client is None:
        client = RepresentClient(
            config["REPRESENT_URL"],
            current_campaign().settings.represent_levels,
            timeout=config["REPRESENT_TIMEOUT_MS"] / 1000,
        )
        current_app.extensions["represent"] = client
    return client


def targets_for(postal_code: str) -> list[Target]:
    """The representatives found for a postal code (the same answer on step 2 and at signing:
    Represent's answers are cached per postal code)."""
    return find_targets(postal_code, current_campaign().settings.targets, represent_client())
