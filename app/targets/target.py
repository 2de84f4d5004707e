"""A representative a letter can go to, and the campaign's own list of them matched by postal code."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

# Every postal code: the prefix the CSV writes for someone everyone can write to (the mayor).
EVERYWHERE = "*"


def normalise_postal_code(text: str) -> str:
    """The form prefixes are matched against: no spaces, capitals ("k1a 0b1" -> "K1A0B1")."""
    return "".join(text.split()).upper()


@dataclass(frozen=True)
class Target:
    """Someone a letter can go to; `email` is "" when no address is known (the page offers the
    letter to copy instead). `id` is safe in an HTML attribute and a CSV cell as it is."""

    id: str
    name: str
    role: str
    email: str
    area: str
    source: Literal["csv", "represent"]
    # The CSV's postal_prefixes (normalised); a Represent answer has none: it came for one code.
    prefixes: tuple[str, ...] = ()

    def serves(self, postal_code: str) -> bool:
        """True when one of its prefixes starts the normalised postal code, or it has `*`."""
        return any(prefix == EVERYWHERE or postal_code.startswith(prefix) for prefix in self.prefixes)


@dataclass(frozen=True)
class TargetList:
    """The campaign's targets in the file's order."""

    targets: tuple[Target, ...] = ()

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)

    def matching(self, postal_code: str) -> list[Target]:
        """The targets for this postal code (written any way), in the file's order."""
        code = normalise_postal_code(postal_code)
        return [target for target in self.targets if target.serves(code)]
