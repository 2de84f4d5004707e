"""Who represents a postal code: the campaign's targets, and Represent's answers when it is configured."""

from flask import current_app

from ...campaign import current_campaign
from ...targets import RepresentClient, Target, find_targets, represent_client

# app.extensions key of this app's Represent client: its cache is the process's, so it is made once.
CLIENT = "represent"


def app_represent_client() -> RepresentClient | None:
    """This app's client of the Represent API for the campaign's levels; None without REPRESENT_URL."""
    if CLIENT not in current_app.extensions:
        levels = current_campaign().settings.represent_levels
        current_app.extensions[CLIENT] = represent_client(current_app.config, levels)
    return current_app.extensions[CLIENT]


def targets_for(postal_code: str) -> list[Target]:
    """The representatives found for a postal code (the same answer on step 2 and at signing:
    Represent's answers are cached per postal code)."""
    return find_targets(postal_code, current_campaign().settings.targets, app_represent_client())
