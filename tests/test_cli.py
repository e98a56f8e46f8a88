"""The ``imagemarker`` command line: the maskfill subcommand and the subcommand registry."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import maskfill as reference
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from napari_imagemarker import cli
from napari_imagemarker.maskfill import maskfill


def write_inputs(tmp_path, shape=(30, 36), ext_name=None):
    """A float32 image with a TAN WCS and a mask with a hole, a streak and a border pixel."""
    rng = np.random.default_rng(3)
    image = rng.normal(100, 10, shape).astype(np.float32)
    mask = np.zeros(shape, np.int16)
    mask[10:16, 5:12] = 1
    mask[20, 3:30] = 2
    mask[0, 0] = 1
    header = fits.Header()
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CRPIX1"], header["CRPIX2"] = 18.0, 15.0
    header["CRVAL1"], header["CRVAL2"] = 202.47, 47.19
    header["CDELT1"], header["CDELT2"] = -0.0002, 0.0002
    header["OBJECT"] = "cli test"
    if ext_name:
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(image, header, name=ext_name)]).writeto(
            tmp_path / "in.fits"
        )
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(mask, name=ext_name)]).writeto(
            tmp_path / "mask.fits"
        )
    else:
        fits.writeto(tmp_path / "in.fits", image, header)
        fits.writeto(tmp_path / "mask.fits", mask)
    return image, mask


def run(*args):
    return cli.main([str(a) for a in args])


def test_maskfill_writes_the_reference_layout_with_the_input_header(tmp_path, capsys):
    image, mask = write_inputs(tmp_path)
    code = run("maskfill", tmp_path / "in.fits", tmp_path / "mask.fits", tmp_path / "out.fits")
    assert code == 0
    assert capsys.readouterr() == ("", "")  # quiet unless asked
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        smoothed, unsmoothed = reference.maskfill(image, mask)
    with fits.open(tmp_path / "out.fits") as hdul:
        assert len(hdul) == 2
        assert np.array_equal(hdul[0].data, smoothed)
        assert np.array_equal(hdul[1].data, unsmoothed)
        assert hdul[0].data.dtype == np.dtype(">f4")
        assert hdul[0].header["EXT0"] == "Filled Smoothed Image"
        assert hdul[0].header["EXT1"] == "Filled Image (no smoothing)"
        assert "maskfill size=3 operator=median" in str(hdul[0].header["HISTORY"])
        for hdu in hdul:
            assert hdu.header["OBJECT"] == "cli test"
            sky = WCS(hdu.header).wcs_pix2world([[17.0, 14.0]], 0)[0]  # CRPIX, 0-based
            assert sky == pytest.approx([202.47, 47.19])


def test_maskfill_options(tmp_path, monkeypatch):
    image, mask = write_inputs(tmp_path, ext_name="SCI")
    monkeypatch.chdir(tmp_path)
    code = run("maskfill", "in.fits", "mask.fits", "out.fits",
               "-e", "SCI", "-s", "5", "-o", "mean", "-n", "-w")  # fmt: skip
    assert code == 0
    filled, _ = maskfill(image, mask, size=5, operator="mean", smooth=False)
    with fits.open("out.fits") as hdul:
        assert len(hdul) == 1
        assert np.array_equal(hdul[0].data, filled)
        assert "EXT0" not in hdul[0].header
        assert hdul[0].header["OBJECT"] == "cli test"
    steps = sorted(tmp_path.glob("_iter_*.fits"))
    assert steps and np.array_equal(fits.getdata(steps[-1]), filled)


def test_threads_option_gives_the_same_file(tmp_path):
    """--threads 1 and the default (every core) write the same numbers."""
    image, mask = write_inputs(tmp_path)
    one, every = tmp_path / "one.fits", tmp_path / "every.fits"
    assert run("maskfill", tmp_path / "in.fits", tmp_path / "mask.fits", one, "-t", "1") == 0
    assert run("maskfill", tmp_path / "in.fits", tmp_path / "mask.fits", every) == 0
    with fits.open(one) as a, fits.open(every) as b:
        assert len(a) == len(b) == 2
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x.data, y.data)
    assert np.array_equal(fits.getdata(one), maskfill(image, mask)[0])


def test_extension_by_index(tmp_path):
    image, mask = write_inputs(tmp_path, ext_name="SCI")
    assert run("maskfill", tmp_path / "in.fits", tmp_path / "mask.fits",
               tmp_path / "out.fits", "--extension", "1") == 0  # fmt: skip
    assert np.array_equal(fits.getdata(tmp_path / "out.fits"), maskfill(image, mask)[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.fits", "mask.fits", "out.fits"], "missing.fits: no such file"),
        (["in.fits", "mask.fits", "out.fits", "-e", "4"], "in.fits: has no extension 4"),
        (["text.fits", "mask.fits", "out.fits"], "text.fits: cannot read as FITS"),
        (["in.fits", "small.fits", "out.fits"], "small.fits: the mask's shape (5, 5) does not"),
        (["in.fits", "full.fits", "out.fits"], "in.fits: the image has no valid pixel"),
        (["in.fits", "mask.fits", "no/such/dir/out.fits"], "out.fits: cannot write"),
        (["in.fits", "mask.fits", "out.fits", "-s", "4"], "size must be an odd integer >= 3"),
        (["in.fits", "mask.fits", "out.fits", "-s", "x"], "argument -s/--size: invalid int"),
        (["in.fits", "mask.fits", "out.fits", "-o", "max"], "invalid choice: 'max'"),
        (["in.fits", "mask.fits", "out.fits", "-t", "0"], "threads must be a whole number"),
        (["in.fits", "mask.fits"], "required: OUT"),
        (["line.fits", "mask.fits", "out.fits"], "line.fits: the image must be 2-D or a 3-D"),
        (["trunc.fits", "mask.fits", "out.fits"], "trunc.fits: cannot read extension 0"),
        (["in.fits", "trunc.fits", "out.fits"], "trunc.fits: cannot read extension 0"),
        (["in.fits", "mask.fits", "."], ".: is a folder; give a file name to write"),
        (["in.fits", "mask.fits", "folder"], "folder: is a folder; give a file name to write"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys, args, message):
    write_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.fits").write_text("plain text")
    fits.writeto(tmp_path / "small.fits", np.zeros((5, 5)))
    fits.writeto(tmp_path / "full.fits", np.ones((30, 36)))
    fits.writeto(tmp_path / "line.fits", np.ones(36))
    whole = (tmp_path / "in.fits").read_bytes()
    (tmp_path / "trunc.fits").write_bytes(whole[: 2880 + 1000])  # data cut short
    (tmp_path / "folder").mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main(["maskfill", *args]) == 2
    assert [str(w.message) for w in caught] == []  # astropy would print them as WARNING lines
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("imagemarker maskfill: error: ")
    assert message in err
    assert not (tmp_path / "out.fits").exists()
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == []


def test_an_image_problem_names_the_image_not_the_mask(tmp_path, capsys):
    """A 1-D image with a 1-D mask: the image is what is wrong."""
    fits.writeto(tmp_path / "line.fits", np.ones(36))
    fits.writeto(tmp_path / "line_mask.fits", np.zeros(36, np.uint8))
    code = run(
        "maskfill", tmp_path / "line.fits", tmp_path / "line_mask.fits", tmp_path / "o.fits"
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{tmp_path / 'line.fits'}: the image must be 2-D or a 3-D cube, not 1-D" in err
    assert "line_mask.fits" not in err


def test_a_gz_output_is_gzip_compressed(tmp_path):
    """astropy compresses by the file name: the file written and renamed must end in .gz."""
    image, mask = write_inputs(tmp_path)
    out = tmp_path / "out.fits.gz"
    assert run("maskfill", tmp_path / "in.fits", tmp_path / "mask.fits", out) == 0
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # the gzip magic number
    with fits.open(out) as hdul:
        np.testing.assert_array_equal(hdul[0].data, maskfill(image, mask)[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fits", "mask.fits", "out.fits.gz"]


def test_console_run_has_no_traceback(tmp_path):
    """End to end in a new process, as a user runs it."""
    write_inputs(tmp_path)
    command = [sys.executable, "-m", "napari_imagemarker.cli", "maskfill"]
    bad = subprocess.run(
        [*command, "in.fits", "nothere.fits", "out.fits"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr == "imagemarker maskfill: error: nothere.fits: no such file\n"
    (tmp_path / "trunc.fits").write_bytes((tmp_path / "in.fits").read_bytes()[:4000])
    truncated = subprocess.run(
        [*command, "trunc.fits", "mask.fits", "out.fits"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert truncated.returncode == 2
    assert truncated.stderr.startswith("imagemarker maskfill: error: trunc.fits: ")
    assert truncated.stderr.count("\n") == 1, truncated.stderr  # no astropy WARNING line
    good = subprocess.run(
        [*command, "in.fits", "mask.fits", "out.fits", "-v"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert good.returncode == 0, good.stderr
    lines = good.stderr.splitlines()
    assert lines[-2].startswith("maskfill in.fits: 100% (")  # -v: progress without a terminal
    assert lines[-1] == "imagemarker maskfill: wrote out.fits (HDU 0 smoothed, HDU 1 unsmoothed)"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_is_redrawn_in_place():
    stream = _Terminal()
    line = cli.ProgressLine("maskfill big.fits", "pixels", stream=stream, delay=0.0)
    for done in (10, 500, 1000):
        line(done, 1000)
    line.close()
    text = stream.getvalue()
    assert text.startswith("\rmaskfill big.fits:   1% (10/1000 pixels")
    assert "\rmaskfill big.fits: 100% (1000/1000 pixels" in text
    assert text.endswith("\n") and text.count("\n") == 1


def test_progress_line_stays_silent_on_short_runs():
    stream = _Terminal()
    line = cli.ProgressLine("maskfill small.fits", "pixels", stream=stream, delay=60.0)
    line(5, 5)
    line.close()
    assert stream.getvalue() == ""


def test_a_subcommand_is_one_function_and_one_registration(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_SUBCOMMANDS", dict(cli._SUBCOMMANDS))

    @cli.subcommand(
        "echo", "print a word", cli.arg("word"), cli.arg("--twice", action="store_true")
    )
    def _echo(args):
        print(args.word * (2 if args.twice else 1))
        return 0

    assert cli.main(["echo", "hi", "--twice"]) == 0
    assert capsys.readouterr().out == "hihi\n"
    assert cli.main(["maskfill", "--help"]) == 0  # the others are still there
    with pytest.raises(ValueError, match="registered twice"):
        cli.subcommand("echo", "again")(_echo)


def test_no_subcommand_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "maskfill" in capsys.readouterr().err


LIMIT_MEMORY = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from napari_imagemarker.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_windows_too_big_for_memory_name_the_file_and_the_size(tmp_path):
    """Size 20001 on a 30 x 36 image: each window of the smoothing has 400 million values,
    more than a process held to 3 GB can hold; the error says which file and which size,
    rather than only "not enough memory"."""
    write_inputs(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", LIMIT_MEMORY, "maskfill", "in.fits", "mask.fits", "out.fits",
         "-s", "20001"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "imagemarker maskfill: error: in.fits: not enough memory to fill a 30 x 36 image "
        "with size=20001 windows (400,040,001 values each); a smaller size needs less\n"
    )
    assert not (tmp_path / "out.fits").exists()
