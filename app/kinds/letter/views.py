"""The letter's own page: step 2, the representatives for a postal code and the letter to edit."""

from flask import Blueprint, render_template, request
from flask_babel import get_locale

from ...campaign import current_campaign
from ...counter import current_tally
from ...extensions import campaign_client_key, configured_limit, limiter
from ...public import render_campaign
from ...security import never_stored
from .form import LetterForm

bp = Blueprint("letter", __name__)


@bp.get("/write")
@limiter.limit(configured_limit("RATELIMIT_SIGN"), key_func=campaign_client_key)
@never_stored  # the postal code, in the address and on the page
def write():
    """Step 2 for the postal code step 1 asked for; the campaign page with its error if it is not one."""
    campaign = current_campaign()
    if not campaign.is_open():
        return render_template("public/closed.html", tally=current_tally()), 410
    letter = campaign.in_language(str(get_locale() or "en")).letter
    form = LetterForm(
        formdata=None,
        postal_code=request.args.get("postal_code", ""),
        subject=letter.subject,
        message=letter.message,
    )
    if not form.postal_code.validate(form, [LetterForm.validate_postal_code]):
        return render_campaign(form, 422)
    form.find(form.postal_code.data)
    # Everyone who can be written to starts ticked; the writer unticks whom they like.
    form.targets.data = [target.id for target in form.found if target.email]
    return render_campaign(form)
