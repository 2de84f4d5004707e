"""The campaign file: the demo is valid; every mistake names its field, at start-up too."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from app import create_app
from app.campaign import CampaignError, load_campaign
from app.clock import today
from app.config import DEMO_CAMPAIGN, ROOT
from app.forms import SignForm
from app.kinds import kind_for
from app.kinds.petition import Petition
from helpers import TEST_SECRET_KEY, campaign_text

DEADLINE = (today() + timedelta(days=200)).isoformat()
VALID = campaign_text(DEMO_CAMPAIGN, deadline=today() + timedelta(days=200))


def _write(tmp_path, text):
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_campaign_is_valid_in_both_languages():
    campaign = load_campaign(DEMO_CAMPAIGN)
    assert campaign.goal > 0
    for language in ("en", "fr"):
        content = campaign.content[language]
        assert content.title and content.summary and content.sources
        assert str(content.text).count("<p>") >= 3
    assert "facial" in campaign.content["en"].title.lower()
    assert "faciale" in campaign.content["fr"].title.lower()


@pytest.mark.parametrize(
    "broken, field",
    [
        (VALID.replace("goal = ", "goal_missing = ", 1), "goal is missing"),
        (VALID.replace("goal = 50000", 'goal = "lots"'), "goal must be a int"),
        (VALID.replace("goal = 50000", "goal = 0"), "goal must be greater than zero"),
        (
            VALID.replace("[en]", "[en_missing]").replace("[fr]", "[fr_missing]"),
            "the campaign needs at least one language",
        ),
        (
            VALID.replace('organization = "Coalition Visages', 'organisation = "Coalition Visages'),
            "fr.organization is missing",
        ),
        (VALID.replace('privacy_url = "https://', 'privacy_url = "ftp://'), "organization.privacy_url"),
        (VALID.replace("[^4]", "[^9]", 1), "en.text refers to source [^9]"),
        # Written at the end of the file, a top-level key lands in the last [section].
        (
            VALID + "\nretention_days = 90\n",
            "fr.retention_days is not a key of [fr]: write retention_days above",
        ),
        (VALID + '\n[links]\nurl = "https://example.org"\n', "links is not a key the campaign file has"),
        (
            VALID.replace("deadline = ", "dealine = ", 1),
            'dealine is not a key the campaign file has (did you mean "deadline"?)',
        ),
        (
            VALID.replace(f"deadline = {DEADLINE}", f"deadline = {DEADLINE}T17:00:00"),
            "deadline must be a date",
        ),
        (
            VALID.replace(f"deadline = {DEADLINE}", "deadline = 9999-12-31"),
            "deadline and retention_days must fall",
        ),
        (
            VALID.replace('phone = "+1 613 555 0100', 'phone = "01 23 45 67 89', 1),
            "press.phone needs its country code",
        ),
    ],
)
def test_a_broken_campaign_file_is_refused_with_the_field_named(tmp_path, broken, field):
    with pytest.raises(CampaignError) as error:
        load_campaign(_write(tmp_path, broken))
    assert field in str(error.value)
    assert "campaign.toml" in str(error.value)


def test_a_campaign_of_an_unknown_kind_is_refused_with_the_field_named(tmp_path):
    expected = 'kind must be "petition", "open_letter" or "letter", not "manifesto"'
    with pytest.raises(CampaignError, match=expected):
        load_campaign(_write(tmp_path, 'kind = "manifesto"\n' + VALID))


def test_a_campaign_file_without_a_kind_is_a_petition_and_so_is_one_that_says_so(tmp_path):
    for text in (VALID, 'kind = "petition"\n' + VALID):
        kind = kind_for(load_campaign(_write(tmp_path, text)))
        assert isinstance(kind, Petition)
        assert kind.form is SignForm and kind.page_template == "public/index.html"
        assert kind.export_columns == ()


def test_a_campaign_title_with_a_line_break_is_refused(tmp_path):
    broken = VALID.replace('title = "Ban', 'title = "Line\\nBan', 1)
    with pytest.raises(CampaignError, match="en.title"):
        load_campaign(_write(tmp_path, broken))


def test_the_app_refuses_to_start_with_a_bad_campaign_file(tmp_path):
    path = _write(tmp_path, VALID.replace("[press]", "[press_missing]"))
    with pytest.raises(CampaignError, match="press is missing"):
        create_app(
            {"CAMPAIGN_FILE": str(path), "SECRET_KEY": TEST_SECRET_KEY, "PUBLIC_URL": "https://x.test"}
        )


def test_campaign_check_command_reports_valid_and_invalid_files(runner, tmp_path):
    result = runner.invoke(args=["campaign", "check", str(DEMO_CAMPAIGN)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    bad = _write(tmp_path, VALID.replace("share_text", "share_txt", 1))
    result = runner.invoke(args=["campaign", "check", str(bad)])
    assert result.exit_code != 0
    assert "en.share_text is missing" in result.output


def test_the_demo_shows_markdown_and_linked_sources_in_both_languages():
    campaign = load_campaign(DEMO_CAMPAIGN)
    for language in ("en", "fr"):
        content = campaign.content[language]
        # The summary cites first, so the text's citation of source 1 is its second.
        assert 'id="ref-1-a" aria-label="source 1">1</a>, <a href="#source-3"' in content.summary
        assert '<a href="#source-1" id="ref-1-b" aria-label="source 1">1</a>' in content.text
        assert "<ol>" in content.text and '<a href="https://laws-lois.justice.gc.ca/' in content.text
        assert all(source.url.startswith("https://") for source in content.sources)
        assert content.hosted_by and content.donate and content.related
    assert campaign.press_phone_uri == "tel:+16135550100;ext=123"


def flask_command(*args: str, cwd) -> subprocess.CompletedProcess:
    """`flask --app wsgi ...` as an operator types it on a server: production, no secret key."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("FLASK_DEBUG", "SECRET_KEY", "PUBLIC_URL", "CAMPAIGN_FILE")
    }
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", str(ROOT / "wsgi"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_checking_a_file_needs_no_secret_key_and_prints_only_its_error(tmp_path):
    bad = _write(tmp_path, VALID.replace("goal = ", "goal_missing = ", 1))

    refused = flask_command("campaign", "check", str(bad), cwd=tmp_path)
    checked = flask_command("campaign", "check", str(DEMO_CAMPAIGN), cwd=tmp_path)

    assert refused.returncode == 1
    assert refused.stderr == f"Error: {bad}: goal is missing\n" and refused.stdout == ""
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{DEMO_CAMPAIGN}: valid.") and checked.stderr == ""


def test_other_commands_without_a_secret_key_say_so_in_one_line(tmp_path):
    result = flask_command("mail", "worker", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.startswith("Error: Production start-up needs SECRET_KEY and PUBLIC_URL.")
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
