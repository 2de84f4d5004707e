"""Language choice: ?lang= (remembered in a cookie), else Accept-Language, else English."""

from flask import Flask, Response, g, request

LANGUAGES = ("en", "fr")
# English is written in the code and templates; the others need a catalogue.
TRANSLATED = tuple(language for language in LANGUAGES if language != "en")
COOKIE = "lang"


def select_language() -> str:
    """Flask-Babel's locale selector."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        g.remember_language = asked
        return asked
    remembered = request.cookies.get(COOKIE, "")
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES) or "en"


def remember_language(response: Response) -> Response:
    """Keep a language chosen with ?lang= for the next visits."""
    chosen = g.get("remember_language")
    if chosen:
        response.set_cookie(
            COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure, httponly=True
        )
    return response


def init_i18n(app: Flask) -> None:
    """Register the cookie hook."""
    app.after_request(remember_language)
