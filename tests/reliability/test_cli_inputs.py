"""``imagemarker maskfill`` never writes over its inputs, and ``-w`` writes its iteration
files beside the output (issue 17, item 7)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from napari_imagemarker import cli


@pytest.fixture
def inputs(tmp_path):
    image = np.random.default_rng(0).normal(size=(24, 30)).astype(np.float32)
    mask = np.zeros(image.shape, np.uint8)
    mask[10:13, 12:16] = 1
    fits.PrimaryHDU(image).writeto(tmp_path / "in.fits")
    fits.PrimaryHDU(mask).writeto(tmp_path / "mask.fits")
    return tmp_path / "in.fits", tmp_path / "mask.fits"


@pytest.mark.parametrize("target", ["input", "mask", "input without .fits", "link to input"])
def test_maskfill_refuses_to_write_over_an_input(inputs, capsys, target):
    image, mask = inputs
    before = {p: p.read_bytes() for p in inputs}
    out = {
        "input": image,
        "mask": mask,
        "input without .fits": image,
        "link to input": image.with_name("link.fits"),
    }[target]
    if target == "link to input":
        out.symlink_to(image)
    source = image.with_suffix("") if target == "input without .fits" else image
    assert cli.main(["maskfill", str(source), str(mask), str(out)]) == 2
    err = capsys.readouterr().err
    what = "the mask" if target == "mask" else "the input image"
    assert f"{out}: is {what}; writing the result there would destroy it" in err
    assert {p: p.read_bytes() for p in inputs} == before  # nothing touched


def test_writesteps_go_beside_the_output_not_the_current_folder(inputs, tmp_path, monkeypatch):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    image, mask = inputs
    assert cli.main(["maskfill", str(image), str(mask), str(out_dir / "out.fits"), "-w"]) == 0
    steps = sorted(p.name for p in out_dir.glob("_iter_*.fits"))
    assert steps and steps[0] == "_iter_1.fits"
    assert list(elsewhere.iterdir()) == []
