"""Fill in French translations after `make messages`: `python tools/translate.py MSGID=TEXT ...`.

For a plural message give the singular msgid and `ONE||OTHER`. Prints whatever is still
untranslated.
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
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key in new:
            text = new.pop(key)
            message.string = tuple(text.split("||")) if isinstance(message.id, tuple) else text
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
