"""Language choice among the campaign's languages: ?lang= (remembered in a cookie), else
Accept-Language, else the campaign's first language."""

from flask import Flask, Response, current_app, g, has_request_context, request

LANGUAGES = ("en", "fr")
# English is written in the code and templates; the others need a catalogue.
TRANSLATED = tuple(language for language in LANGUAGES if language != "en")
COOKIE = "lang"


def offered_languages() -> tuple[str, ...]:
    """The languages this request may be in: the campaign's, except on the organizers' pages,
    whose people need not read the campaign's language."""
    if has_request_context() and request.blueprint == "admin":
        return LANGUAGES
    campaign = g.get("campaign") or current_app.extensions["campaigns"].home
    return campaign.languages if campaign is not None else LANGUAGES


def select_language() -> str:
    """Flask-Babel's locale selector."""
    offered = offered_languages()
    asked = request.args.get("lang", "")
    if asked in offered:
        g.remember_language = asked
        return asked
    remembered = request.cookies.get(COOKIE, "")
    if remembered in offered:
        return remembered
    return request.accept_languages.best_match(offered) or offered[0]


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
