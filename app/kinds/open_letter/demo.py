"""The demo seed's fictional signatories for an open letter (`flask demo seed`)."""

import random
import unicodedata
from datetime import timedelta

# An open letter's fictional signatories: organizations made of a place and a kind of group,
# individuals with a title and an affiliation now and then.
PLACES = (
    "Halifax",
    "Moncton",
    "Québec",
    "Montréal",
    "Gatineau",
    "Ottawa",
    "Toronto",
    "Hamilton",
    "Sudbury",
    "Winnipeg",
    "Regina",
    "Calgary",
    "Edmonton",
    "Vancouver",
    "Victoria",
    "Whitehorse",
)
GROUPS = (
    "Civil Liberties Association",
    "Digital Rights Network",
    "Privacy Collective",
    "Tenants' Union",
    "Legal Clinic",
    "Racial Justice Coalition",
    "Librarians' Guild",
    "Journalists' Circle",
)
TITLES = (
    "",
    "",
    "Professor of law",
    "Lawyer",
    "Researcher",
    "Community organizer",
    "Librarian",
    "Journalist",
)
AFFILIATIONS = ("", "", "", "University of Example", "Example Legal Clinic", "Collège Exemple")


def as_signatories(rows: list[dict], chooser: random.Random, now) -> None:
    """Make the rows an open letter's: one in five an organization (each name once); most
    confirmed ones approved, a few still waiting for an organizer."""
    names = [f"{place} {group}" for place in PLACES for group in GROUPS]
    chooser.shuffle(names)
    for row in rows:
        row.update(
            public=True, signatory_type="individual", title="", organization="", website="", contact_name=""
        )
        if names and chooser.random() < 0.2:
            name = names.pop()
            ascii_name = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
            slug = "".join(character for character in ascii_name if character.isalnum() or character == " ")
            row.update(
                signatory_type="organization",
                contact_name=row["name"],
                name=name,
                website=f"https://{slug.replace(' ', '-')}.example.org/" if chooser.random() < 0.7 else "",
            )
        else:
            row.update(title=chooser.choice(TITLES), organization=chooser.choice(AFFILIATIONS))
        approved = row["confirmed_at"] is not None and chooser.random() < 0.9
        row["approved_at"] = (
            min(row["confirmed_at"] + timedelta(hours=chooser.randrange(1, 48)), now) if approved else None
        )
