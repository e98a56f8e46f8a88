"""README.md and docs/*.md point only at files, headings and repository paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# a path in backticks that names a file or folder of this repository
REPO_PATH = re.compile(r"`((?:src|tests|benchmarks|docs|\.ci)/[\w./-]+)`")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, re.M)}


def where(page: Path, text: str, start: int) -> str:
    return f"{page.relative_to(ROOT)}:{text[:start].count(chr(10)) + 1}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_lead_to_files_and_headings_that_exist(page):
    text = page.read_text(encoding="utf-8")
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked here
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{where(page, text, match.start())}: {target} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{where(page, text, match.start())}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_paths_named_in_the_text_exist(page):
    text = page.read_text(encoding="utf-8")
    missing = [
        f"{where(page, text, m.start())}: {m.group(1)}"
        for m in REPO_PATH.finditer(text)
        if not any(ROOT.glob(m.group(1).rstrip("/")))
    ]
    assert not missing, "\n".join(missing)


def test_a_broken_link_and_a_missing_heading_are_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Saving, and *resuming*\n\n[a](#saving-and-resuming) [b](#nope) [c](gone.md)\n"
    )
    assert anchors(page) == {"saving-and-resuming"}
    found = [m.group(1) for m in LINK.finditer(page.read_text())]
    assert found == ["#saving-and-resuming", "#nope", "gone.md"]
