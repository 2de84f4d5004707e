"""Organizers' Markdown, one way: safe HTML for pages, plain text for emails, source markers linked."""

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markupsafe import Markup, escape

SAFE_SCHEMES = ("http://", "https://", "mailto:")
# One marker: [^1], [^1-3], [^9, 10] or a mix of both; adjacent markers ([^9][^10]) join into one list.
MARKER = re.compile(r"\[\^\s*([0-9]+(?:\s*[-–]\s*[0-9]+)?(?:\s*,\s*[0-9]+(?:\s*[-–]\s*[0-9]+)?)*)\s*\]")
GROUP = re.compile(r"([0-9]+)(?:\s*[-–]\s*([0-9]+))?")


@dataclass
class References:
    """Where each source is cited, in page order: the ids its back links return to."""

    ids: dict[int, list[str]] = field(default_factory=dict)

    def add(self, number: int) -> str:
        """A fresh id for one more citation of source `number` (ref-1-a, ref-1-b, ...)."""
        ids = self.ids.setdefault(number, [])
        ids.append(f"ref-{number}-{_letters(len(ids))}")
        return ids[-1]


def _letters(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa: the suffix that tells citations of one source apart."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _marker_rule(state: StateInline, silent: bool) -> bool:
    """Turn [^1], [^1-3], [^9, 10] and runs like [^9][^10] into one source_ref token."""
    if not state.env.get("markers") or not state.src.startswith("[^", state.pos):
        return False
    groups, end = [], state.pos
    while match := MARKER.match(state.src, end, state.posMax):
        groups += [(int(a), int(b or a)) for a, b in GROUP.findall(match.group(1))]
        end = match.end()
    if not groups:
        return False
    if not silent:
        token = state.push("source_ref", "sup", 0)
        token.meta = {"groups": groups}
        token.content = state.src[state.pos : end]
    state.pos = end
    return True


def _shift_headings(state) -> None:
    """Start headings at the level the page gives the text, so its own h1/h2 outline holds."""
    offset = state.env.get("heading_level", 2) - 1
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + offset)}"


def _render_source_ref(renderer, tokens, idx, options, env) -> str:
    references: References = env["citations"]
    name = env.get("source_name", "source {number}")

    def link(number: int) -> str:
        label = escape(name.format(number=number))
        ref = references.add(number)
        return f'<a href="#source-{number}" id="{ref}" aria-label="{label}">{number}</a>'

    parts = []
    for first, last in tokens[idx].meta["groups"]:
        if first >= last:
            parts.append(link(first))
            continue
        # Sources inside a range get an anchor too, so their back link has somewhere to land.
        inner = "".join(f'<span id="{references.add(n)}"></span>' for n in range(first + 1, last))
        parts.append(f"{link(first)}-{inner}{link(last)}")
    return f'<sup class="source-ref">{", ".join(parts)}</sup>'


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.disable("image")  # a picture from elsewhere would tell that host who reads the page
    md.validateLink = lambda url: url.strip().lower().startswith(SAFE_SCHEMES)
    md.inline.ruler.before("link", "source_ref", _marker_rule)
    md.core.ruler.after("block", "shift_headings", _shift_headings)
    md.add_render_rule("source_ref", _render_source_ref)
    return md


_MD = _build()


def render_markdown(
    text: str,
    *,
    heading_level: int = 2,
    references: References | None = None,
    source_name: str = "source {number}",
) -> Markup:
    """Safe HTML for a Markdown text; with `references`, [^N] markers link to #source-N."""
    env = {
        "heading_level": heading_level,
        "markers": references is not None,
        "citations": references,  # not "references": markdown-it keeps link definitions there
        "source_name": source_name,
    }
    return Markup(_MD.render(text, env))


def cited_sources(text: str) -> list[tuple[int, int]]:
    """Every (first, last) source range the text's markers cite, in order; [^4] is (4, 4)."""
    found = []
    for token in _MD.parse(text, {"markers": True}):
        for child in token.children or ():
            if child.type == "source_ref":
                found += child.meta["groups"]
    return found


def _marker_text(groups: list[tuple[int, int]]) -> str:
    return "[" + ", ".join(f"{a}-{b}" if a < b else str(a) for a, b in groups) + "]"


def _inline_text(children) -> str:
    out, hrefs = [], []
    for token in children:
        if token.type in ("text", "code_inline"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif token.type == "source_ref":
            out.append(_marker_text(token.meta["groups"]))
        elif token.type == "link_open":
            hrefs.append((token.attrGet("href"), len(out)))
        elif token.type == "link_close":
            href, start = hrefs.pop()
            label = "".join(out[start:])
            if href and href.removeprefix("mailto:") != label:
                out.append(f" ({href})")
    return "".join(out)


def plain_text(text: str) -> str:
    """The same Markdown as plain text for emails: no markup, link addresses after their words."""
    blocks: list[tuple[str, int | None]] = []  # each block's text and the top-level list it is in
    lists: list[list] = []  # one [ordered, next number] per open list
    bullet, list_count = "", 0
    for token in _MD.parse(text, {"markers": True}):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            list_count += not lists
            lists.append([token.type == "ordered_list_open", int(token.attrGet("start") or 1)])
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            bullet = "  " * len(lists)
        elif token.type == "list_item_open":
            ordered, number = lists[-1]
            bullet = "  " * (len(lists) - 1) + (f"{number}. " if ordered else "- ")
            lists[-1][1] += 1
        elif token.type == "inline":
            blocks.append((bullet + _inline_text(token.children), list_count if lists else None))
            bullet = "  " * len(lists)
        elif token.type in ("code_block", "fence"):
            blocks.append((token.content.rstrip("\n"), None))
        elif token.type == "hr":
            blocks.append(("---", None))
    out = ""
    for index, (block, in_list) in enumerate(blocks):
        if index:
            # Items of one list stay on consecutive lines; everything else is a paragraph apart.
            out += "\n" if in_list is not None and blocks[index - 1][1] == in_list else "\n\n"
        out += block
    return out
