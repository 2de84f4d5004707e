"""Refresh the French catalogue and fill in new translations: `python tools/translate.py MSGID=TEXT ...`.

Used after `make messages`; prints whatever is still untranslated.
"""

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent.parent / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


def main(pairs: list[str]) -> None:
    new = dict(pair.split("=", 1) for pair in pairs)
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if message.id in new:
            message.string = new.pop(message.id)
    for unknown in new:
        print(f"not in the catalogue: {unknown!r}")
    for message in catalogue:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and not all(strings):
            print(f"untranslated: {message.id!r}")
    with CATALOGUE.open("wb") as handle:
        write_po(handle, catalogue, width=100, no_location=True, sort_output=True)


if __name__ == "__main__":
    main(sys.argv[1:])
