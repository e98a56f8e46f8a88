"""Every Python example of docs/scripting.md runs, and prints what the page shows after it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "scripting.md"
# a ```python block, then optionally the ``` block of its output (after a line of prose)
EXAMPLE = re.compile(r"```python\n(.*?)```\n(?:\n[^\n`]*\n\n```\n(.*?)```)?", re.S)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _examples() -> list[tuple[str, str | None]]:
    return EXAMPLE.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_examples_with_their_output():
    examples = _examples()
    assert len(examples) >= 3
    assert all(output for _, output in examples)


@pytest.mark.parametrize("number", range(len(_examples())))
def test_example_runs_and_prints_what_the_page_shows(number, tmp_path):
    code, output = _examples()[number]
    # the examples' temporary folders go under the test's own, which pytest removes
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    # neither the day it was run nor blank lines at the end are part of what the page shows
    printed = DATE.sub("DATE", result.stdout).rstrip("\n")
    assert printed == DATE.sub("DATE", output).rstrip("\n")
