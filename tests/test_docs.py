"""The docs stay true: the README is a short front door, every relative link in it and in docs/
leads somewhere, and what the docs show of the code (the Procfile, the commands, the variables)
is what the code has. The deployment guide's steps themselves run in test_deployment.py."""

import re
from pathlib import Path

import pytest
from flask_migrate.cli import db as migrate_commands

from app.cli import COMMAND_GROUPS
from app.clock import SHIFT_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_LINES = 150

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
HTML_LINK = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without its code blocks and code spans, where a link or heading is only an example."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def relative_links(page: Path) -> list[str]:
    text = prose(page.read_text(encoding="utf-8"))
    links = MARKDOWN_LINK.findall(text) + HTML_LINK.findall(text)
    return [link for link in links if not re.match(r"[a-z][a-z0-9+.-]*:", link)]


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces as
    hyphens, a repeated heading numbered."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


def test_the_readme_is_a_front_door_of_at_most_150_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move the detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    broken = []
    for link in relative_links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{link}: no such heading in {target.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def deploy_guide_block(heading: str, language: str = "") -> str:
    """The first fenced block of this language under a heading of docs/deploy.md."""
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = guide.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_the_deploy_guide_shows_the_procfile_as_it_is():
    assert deploy_guide_block("The three processes") == (ROOT / "Procfile").read_text(encoding="utf-8")


def real_commands() -> set[tuple[str, str]]:
    """(group, command) of every `flask --app wsgi GROUP COMMAND` there is."""
    return {(group.name, name) for group in (*COMMAND_GROUPS, migrate_commands) for name in group.commands}


def test_every_flask_command_the_docs_name_exists():
    written = re.compile(r"flask --app wsgi\s+([a-z-]+)\s+([a-z-]+)")
    unknown = {
        f"{page.name}: flask --app wsgi {group} {command}"
        for page in PAGES
        for group, command in written.findall(page.read_text(encoding="utf-8"))
        if (group, command) not in real_commands()
    }
    assert not unknown, sorted(unknown)


def variables_read_by_the_code() -> set[str]:
    """Every environment variable the app, gunicorn.conf.py and the clock read."""
    readers = r"environ\.get|_flag|_int|_seconds|_ipv6_prefix|_list"
    reading = re.compile(rf"""(?:{readers})\(\s*["']([A-Z][A-Z0-9_]*)["']""")
    names = {SHIFT_VARIABLE}
    for source in (ROOT / "app" / "config.py", ROOT / "gunicorn.conf.py"):
        names.update(reading.findall(source.read_text(encoding="utf-8")))
    return names


def test_the_configuration_page_names_every_variable_the_code_reads():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", page))
    read = variables_read_by_the_code()
    assert len(read) > 40, "the pattern no longer finds the variables in app/config.py"
    assert not read - documented, sorted(read - documented)
