"""maskfill on many files with dask.distributed: a folder with a corrupt file, skipping, CLI."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from conftest import tan_header
from napari_imagemarker.maskfill import maskfill
from napari_imagemarker.maskfill.batch import mask_path_for, plan_jobs, run_batch

N_FILES = 50


def _image_and_mask(rng, shape=(40, 48)):
    image = rng.normal(100, 5, shape).astype(np.float32)
    mask = np.zeros(shape, dtype=np.uint8)
    for _ in range(6):
        r, c = rng.integers(0, shape[0] - 4), rng.integers(0, shape[1] - 6)
        mask[r : r + rng.integers(1, 4), c : c + rng.integers(1, 6)] = 1
    return image, mask


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """50 small FITS images with WCS, each with ``<name>_mask.fits`` and a ``DQ`` extension
    holding the same mask; ``img_017.fits`` is corrupt."""
    root = tmp_path_factory.mktemp("batch") / "in"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(N_FILES):
        image, mask = _image_and_mask(rng)
        header = tan_header()
        header["OBJECT"] = f"field {i}"
        fits.HDUList(
            [fits.PrimaryHDU(image, header=header), fits.ImageHDU(mask, name="DQ")]
        ).writeto(root / f"img_{i:03d}.fits")
        fits.PrimaryHDU(mask).writeto(root / f"img_{i:03d}_mask.fits")
    (root / "img_017.fits").write_bytes(b"this is not a FITS file\n" * 200)
    return root


@pytest.fixture(scope="module")
def cluster():
    """A real dask.distributed cluster with two workers, threads of this process (quick)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster


def _single_file_output(image: Path, mask: Path, out: Path, **options) -> Path:
    """What the single-file function writes (``imagemarker maskfill IN MASK OUT``)."""
    maskfill(str(image), str(mask), output_file=str(out), **options)
    return out


def test_batch_on_a_cluster_fills_all_but_the_corrupt_file(folder, cluster, tmp_path):
    out = tmp_path / "out"
    jobs = plan_jobs([folder], out, mask_suffix="_mask")
    assert len(jobs) == N_FILES  # the mask files are not taken as images
    seen = []

    summary = run_batch(
        jobs, scheduler=cluster.scheduler_address, on_result=lambda r, d, t: seen.append(d)
    )

    assert summary.count("filled") == N_FILES - 1
    [failed] = summary.failed
    assert failed.image.name == "img_017.fits"
    assert "img_017.fits" in failed.message and "cannot read" in failed.message
    assert not (out / "img_017.fits").exists()
    assert seen == list(range(1, N_FILES + 1))
    assert f"{N_FILES} files" in summary.text() and "1 failed" in summary.text()
    assert "img_017.fits" in summary.text()
    for i in (0, 1, 33, 49):
        name = f"img_{i:03d}"
        expected = _single_file_output(
            folder / f"{name}.fits", folder / f"{name}_mask.fits", tmp_path / f"{name}.fits"
        )
        assert filecmp.cmp(out / f"{name}.fits", expected, shallow=False), name
    with fits.open(out / "img_005.fits") as hdul:
        assert hdul[0].header["OBJECT"] == "field 5" and hdul[0].header["CTYPE1"] == "RA---TAN"
        assert hdul[1].name == "UNSMOOTHED"

    again = run_batch(jobs, scheduler=cluster.scheduler_address)
    assert again.count("skipped") == N_FILES - 1 and len(again.failed) == 1
    assert "49 already done" in again.text()


def test_batch_with_local_workers_and_a_mask_extension(folder, tmp_path):
    out = tmp_path / "out"
    jobs = plan_jobs(
        [folder / f"img_{i:03d}.fits" for i in range(6)], out, mask_ext="DQ", size=5, smooth=False
    )
    summary = run_batch(jobs, workers=2, processes=False)
    assert summary.count("filled") == 6 and not summary.failed
    assert "2 local workers" in summary.text()
    for i in range(6):
        with fits.open(folder / f"img_{i:03d}.fits") as hdul:
            image, mask = hdul[0].data, hdul["DQ"].data
        expected, _ = maskfill(image, mask, size=5, smooth=False)
        written = fits.getdata(out / f"img_{i:03d}.fits")
        np.testing.assert_array_equal(written, expected)


def test_plan_jobs_names_and_refusals(folder, tmp_path):
    assert mask_path_for(Path("a/m51.fits"), "_mask") == Path("a/m51_mask.fits")
    assert mask_path_for(Path("a/m51.fits.gz"), "_dq.fits") == Path("a/m51_dq.fits")
    [job] = plan_jobs([folder / "img_003.fits"], tmp_path, mask_suffix="_mask.fits")
    assert job.mask == folder / "img_003_mask.fits" and job.output == tmp_path / "img_003.fits"
    with pytest.raises(ValueError, match="exactly one"):
        plan_jobs([folder], tmp_path)
    with pytest.raises(ValueError, match="would both write"):
        plan_jobs([folder / "img_003.fits", folder / "img_003.fits"], tmp_path, mask_ext=1)
    with pytest.raises(ValueError, match="holds the inputs"):
        plan_jobs([folder / "img_003.fits"], folder, mask_ext=1)


def test_a_missing_mask_fails_that_file_only(folder, tmp_path):
    jobs = plan_jobs(
        [folder / "img_001.fits", folder / "img_002.fits"], tmp_path, mask_suffix="_x"
    )
    summary = run_batch(jobs, workers=1, processes=False)
    assert len(summary.failed) == 2
    assert all("img_00" in r.message and "_x.fits" in r.message for r in summary.failed)


# -- command line --------------------------------------------------------------------------


def test_command_line_batch_reports_summary_and_failure(folder, cluster, tmp_path, capsys):
    from napari_imagemarker.cli import main

    out = tmp_path / "out"
    argv = ["maskfill-batch", str(folder), "--mask-suffix", "_mask", "--out", str(out)]
    code = main([*argv, "--scheduler", cluster.scheduler_address, "-s", "5"])

    captured = capsys.readouterr()
    assert code == 1  # one file failed
    assert f"maskfill-batch: {N_FILES} files" in captured.out
    assert f"{N_FILES - 1} filled, 0 already done, 1 failed" in captured.out
    assert "failed: " in captured.err and "img_017.fits" in captured.err
    single = tmp_path / "single.fits"
    name = "img_042"
    mask = folder / f"{name}_mask.fits"
    assert main(["maskfill", str(folder / f"{name}.fits"), str(mask), str(single), "-s", "5"]) == 0
    assert filecmp.cmp(out / f"{name}.fits", single, shallow=False)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give exactly one of --mask-ext NAME or --mask-suffix SUFFIX"),
        (["--mask-ext", "DQ", "--mask-suffix", "_m"], "give exactly one of"),
        (["--mask-ext", "DQ", "-j", "0"], "--jobs must be at least 1"),
        (["--mask-suffix", "_mask", "-s", "4"], "size must be an odd integer >= 3, not 4"),
        (["--mask-suffix", "_mask", "-g", "-1"], "grow"),
    ],
)
def test_command_line_batch_bad_arguments(folder, tmp_path, capsys, extra, message):
    """Refused before any file is read or any worker starts: nothing is written."""
    from napari_imagemarker.cli import main

    out = tmp_path / "out"
    code = main(["maskfill-batch", str(folder), "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_worker_killed_while_writing_leaves_no_partial_file(tmp_path):
    """A worker process is killed (SIGKILL) while it writes an output: dask gives the file
    to a new worker, and the batch removes the dead worker's partial file, so neither this
    folder nor a later run (which takes FITS files from folders) ever sees half a file."""
    import os
    import signal
    import threading
    import time

    from distributed import Client, LocalCluster

    source = tmp_path / "in"
    source.mkdir()
    rng = np.random.default_rng(1)
    image = rng.normal(100, 5, (3000, 3000))  # float64: 2 x 72 MB to write, time to kill
    mask = np.zeros(image.shape, np.uint8)
    mask[100:110, 200:230] = 1
    fits.writeto(source / "big.fits", image)
    fits.writeto(source / "big_mask.fits", mask)
    out = tmp_path / "out"
    jobs = plan_jobs([source], out, mask_suffix="_mask")
    finished = []
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        [pid] = client.run(os.getpid).values()
        batch = threading.Thread(
            target=lambda: finished.append(run_batch(jobs, scheduler=cluster.scheduler_address))
        )
        batch.start()
        partial = []
        deadline = time.monotonic() + 120
        while not partial and time.monotonic() < deadline and batch.is_alive():
            partial = list(out.glob(".tmp-*")) if out.is_dir() else []
            time.sleep(0.001)
        assert partial, "the worker was never seen writing"
        os.kill(pid, signal.SIGKILL)  # mid-write
        batch.join(180)
    assert partial[0].name.endswith("-big.fits")  # it looks like a FITS input
    [summary] = finished
    assert summary.results[0].status == "filled"  # on the restarted worker
    assert summary.removed == partial
    assert "removed 1 partial file(s) left by a killed worker" in summary.text()
    assert sorted(p.name for p in out.iterdir()) == ["big.fits"]
    expected = maskfill(str(source / "big.fits"), str(source / "big_mask.fits"))
    with fits.open(out / "big.fits") as hdul:
        assert np.array_equal(hdul[0].data, expected[0])


def test_folders_never_yield_hidden_or_temporary_files(folder, tmp_path):
    """What a killed writer may have left in a folder is not an input of a later run."""
    source = tmp_path / "in"
    source.mkdir()
    for name in ("a.fits", "a_mask.fits", ".tmp-4242-x1y2-a.fits", "._a.fits"):
        (source / name).write_bytes((folder / "img_000.fits").read_bytes())
    (source / ".a.fits.0123abcd.tile").write_bytes(b"\0" * 64)
    jobs = plan_jobs([source], tmp_path / "out", mask_suffix="_mask")
    assert [job.image.name for job in jobs] == ["a.fits"]
