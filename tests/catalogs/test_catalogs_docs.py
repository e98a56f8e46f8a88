"""The runnable examples of docs/catalogs.md (a ```python block followed by "prints" and
its output) run and print what the page shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "catalogs.md"
EXAMPLE = re.compile(r"```python\n((?:(?!```).)*?)```\n\nprints\n\n```\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    return EXAMPLE.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_runnable_examples():
    assert len(_examples()) >= 1


@pytest.mark.parametrize("number", range(len(_examples())))
def test_example_prints_what_the_page_shows(number):
    code, output = _examples()[number]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == output.rstrip("\n")
