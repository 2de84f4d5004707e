"""The open letter's fonts: DejaVu, shipped in fonts/, named by the PDF's stylesheet.

The PDF draws Latin (accents included), Greek, Cyrillic and Arabic with these files whatever the
server has installed, so every PDF looks the same and its text can be searched and copied. A
name in a script they lack (Chinese, Japanese, Korean) falls back to the system's fonts through
fontconfig; `warn_without_cjk_font` says at start-up when there is none.
"""

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import NamedTuple

from .config import ROOT

log = logging.getLogger(__name__)

FOLDER = ROOT / "fonts"
# The Debian package that gives fontconfig a font for Chinese, Japanese and Korean.
CJK_PACKAGE = "fonts-wqy-microhei"
CJK_SAMPLE = "王"


class Face(NamedTuple):
    """One font file as a CSS font face: letter.css names the families."""

    family: str
    weight: str
    style: str
    file: str


FACES = (
    Face("Letter Serif", "normal", "normal", "DejaVuSerif.ttf"),
    Face("Letter Serif", "bold", "normal", "DejaVuSerif-Bold.ttf"),
    Face("Letter Serif", "normal", "italic", "DejaVuSerif-Italic.ttf"),
    Face("Letter Serif", "bold", "italic", "DejaVuSerif-BoldItalic.ttf"),
    Face("Letter Sans", "normal", "normal", "DejaVuSans.ttf"),
    Face("Letter Sans", "bold", "normal", "DejaVuSans-Bold.ttf"),
)


def font_url(face: Face) -> str:
    """The address the PDF's stylesheet gives a face; only the PDF's fetcher can read it."""
    return (FOLDER / face.file).as_uri()


def font_face_css() -> str:
    """The @font-face rules for every shipped face, for the PDF's stylesheet."""
    return "\n".join(
        f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; '
        f'font-style: {face.style}; src: url("{font_url(face)}"); }}'
        for face in FACES
    )


@cache
def font_files() -> dict[str, bytes]:
    """Each face's address and its bytes, read once per process."""
    return {font_url(face): (FOLDER / face.file).read_bytes() for face in FACES}


class _FontSet(ctypes.Structure):
    _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int), ("fonts", ctypes.c_void_p)]


@cache
def system_has_cjk_font() -> bool:
    """Whether fontconfig knows a font that draws Chinese (the fallback for CJK names)."""
    library = ctypes.util.find_library("fontconfig")
    if library is None:
        return False
    fontconfig = ctypes.CDLL(library)
    fontconfig.FcInitLoadConfigAndFonts.restype = ctypes.c_void_p
    fontconfig.FcNameParse.restype = ctypes.c_void_p
    fontconfig.FcNameParse.argtypes = [ctypes.c_char_p]
    fontconfig.FcObjectSetBuild.restype = ctypes.c_void_p
    fontconfig.FcFontList.restype = ctypes.POINTER(_FontSet)
    fontconfig.FcFontList.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    fontconfig.FcFontSetDestroy.argtypes = [ctypes.POINTER(_FontSet)]
    config = fontconfig.FcInitLoadConfigAndFonts()
    pattern = fontconfig.FcNameParse(f":charset={ord(CJK_SAMPLE):x}".encode())
    properties = fontconfig.FcObjectSetBuild(b"family", None)
    fonts = fontconfig.FcFontList(config, pattern, properties)
    found = bool(fonts) and fonts.contents.nfont > 0
    if fonts:
        fontconfig.FcFontSetDestroy(fonts)
    fontconfig.FcObjectSetDestroy(ctypes.c_void_p(properties))
    fontconfig.FcPatternDestroy(ctypes.c_void_p(pattern))
    fontconfig.FcConfigDestroy(ctypes.c_void_p(config))
    return found


@cache
def warn_without_cjk_font() -> None:
    """Log once per process when CJK names would print as empty boxes."""
    if not system_has_cjk_font():
        log.warning(
            "No font for Chinese, Japanese or Korean: such names print as boxes in the open letter's "
            "PDF (every other name prints as searchable text). Install one: apt-get install %s",
            CJK_PACKAGE,
        )
