"""Every ```python and ```bash block of README.md and docs/*.md runs as written.

Each block is one test, named after its page and line, run in a subprocess from the
repository root with this venv's Python (bash blocks with the venv's ``bin`` first on
``PATH``), ``TMPDIR`` and ``HOME`` in the test's own folder (so that temporary files and
napari's settings go there). A block that only illustrates says so right above it in the
Markdown, ``<!-- not run: why -->``, and its test is skipped with that reason. A ```text
block right after a runnable block, alone or after one line of prose starting with "Output"
or "prints", is what that block prints, and the test compares them (dates aside). After each
block ``git status`` must show nothing new: examples clean up what they write.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"python", "bash"}
# languages of blocks that are not programs: output, command synopses, file contents
NOT_PROGRAMS = {"text"}
FENCE = re.compile(r"^[ \t]*```(?P<lang>[\w+-]*)[ \t]*$")
NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(?P<reason>.+?)\s*-->\s*$")
OUTPUT_INTRO = re.compile(r"^\s*(Output|prints)\b.*$")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    not_run: str | None  # the reason given in the Markdown, if any
    output: str | None = None  # the ```text block showing what it prints, if any
    end: int = 0  # 0-based index of the line after the closing fence

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        code = textwrap.dedent("\n".join(line for line in lines[start + 1 : i])) + "\n"
        above = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        not_run = NOT_RUN.match(above)
        blocks.append(Block(page, start + 1, match["lang"], code, not_run and not_run["reason"]))
        # what lies between this block and the previous one decides whether it is its output
        if match["lang"] == "text" and len(blocks) > 1 and blocks[-2].lang in RUNNABLE:
            previous = blocks[-2]
            between = [s for s in lines[previous.end : start] if s.strip()]
            if not between or (len(between) == 1 and OUTPUT_INTRO.match(between[0])):
                previous.output = code
        blocks[-1].end = i + 1
        i += 1
    return blocks


ALL = [block for page in PAGES for block in _blocks(page)]
RUN = [block for block in ALL if block.lang in RUNNABLE]


def test_every_block_says_what_it_is():
    """An unnamed or unknown fence would be neither run nor skipped by name: name it."""
    unknown = [f"{b.id} ```{b.lang}" for b in ALL if b.lang not in RUNNABLE | NOT_PROGRAMS]
    assert not unknown, "give these blocks a language (python, bash or text): " + ", ".join(
        unknown
    )


def test_not_run_marks_only_runnable_blocks():
    stray = [b.id for b in ALL if b.not_run and b.lang not in RUNNABLE]
    assert not stray, f"'not run' above a block that is never run: {stray}"


def test_the_outputs_shown_are_compared():
    # the pages that show what their examples print (the tests of those pages were folded in)
    compared = {b.id.split(":")[0] for b in RUN if b.output is not None}
    assert {"docs/scripting.md", "docs/catalogs.md"} <= compared
    assert sum(b.output is not None for b in RUN if b.page.name == "scripting.md") >= 4


def _git_status() -> set[str] | None:
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError:
        return None
    return set(result.stdout.splitlines()) if result.returncode == 0 else None


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_example_runs_as_written(block: Block, tmp_path: Path):
    if block.not_run:
        pytest.skip(f"{block.id} not run: {block.not_run}")
    home = tmp_path / "home"
    home.mkdir()
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "HOME": str(home),
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
    }
    for xdg in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env.pop(xdg, None)
    # as a file, as a user saves it: a script run by dask's spawned workers must be guarded
    script = tmp_path / ("example.py" if block.lang == "python" else "example.sh")
    script.write_text(block.code, encoding="utf-8")
    command = (
        [sys.executable, str(script)]
        if block.lang == "python"
        else ["bash", "-e", "-o", "pipefail", str(script)]
    )
    before = _git_status()
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, f"{block.id} failed:\n{result.stdout}\n{result.stderr}"
    after = _git_status()
    if before is not None and after is not None:
        assert not after - before, f"{block.id} left files in the repository: {after - before}"
    if block.output is not None:
        # neither the day it was run nor blank lines at the end are part of what is shown
        printed = DATE.sub("DATE", result.stdout).rstrip("\n")
        assert printed == DATE.sub("DATE", block.output).rstrip("\n")
