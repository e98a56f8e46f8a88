"""The Python examples of docs/data-safety.md run as written."""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

from napari_imagemarker.images import fits as fits_reader

DOC = Path(__file__).parents[2] / "docs" / "data-safety.md"


def test_the_examples_of_the_data_safety_page_run(monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 2
    monkeypatch.setattr(fits_reader, "MAX_DECOMPRESSED_BYTES", fits_reader.MAX_DECOMPRESSED_BYTES)
    with warnings.catch_warnings():
        for block in blocks:
            exec(textwrap.dedent(block), {})
    assert fits_reader.MAX_DECOMPRESSED_BYTES == 8 * 2**30  # the second example took effect
