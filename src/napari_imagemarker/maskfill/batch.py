"""maskfill on many files: dask.distributed workers, failures reported, done files skipped.

:func:`plan_jobs` turns files and folders into one :class:`FillJob` per image,
:func:`run_batch` runs them on dask.distributed (a local cluster by default, or an existing
scheduler) and returns a :class:`BatchSummary`.  Each file is filled by :func:`fill_file`,
which writes exactly what ``imagemarker maskfill IN MASK OUT`` writes, atomically, so a file
whose output exists is done and is skipped when the batch is run again.  A file that fails
is reported and skipped; the others go on.  Images too large for memory are filled tile by
tile (:mod:`napari_imagemarker.maskfill.tiles`), with the same result.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_imagemarker.maskfill.files import open_hdu, read_hdu
from napari_imagemarker.maskfill.fill import check_size, maskfill
from napari_imagemarker.maskfill.grow import check_grow
from napari_imagemarker.maskfill.tiles import DEFAULT_OVERLAP, DEFAULT_TILE, fill_fits_tiled

__all__ = [
    "BatchSummary",
    "FileResult",
    "FillJob",
    "fill_file",
    "leftovers",
    "mask_path_for",
    "plan_jobs",
    "run_batch",
]

#: With ``tile=None``, images whose planes have more pixels than this are filled in tiles.
AUTO_TILE_PIXELS = 8192 * 8192
#: Tile side used when tiling automatically.
AUTO_TILE = DEFAULT_TILE

_FITS_SUFFIXES = (".fits.fz", ".fits.gz", ".fit.gz", ".fts.gz", ".fits", ".fit", ".fts", ".fz")


@dataclass(frozen=True)
class FillJob:
    """One file to fill: what ``imagemarker maskfill`` would be asked, plus tiling.

    Attributes
    ----------
    image, output : Path
        FITS file to read and to write.
    mask : Path or None
        FITS file with the mask (read from extension ``ext``, as the single-file command
        does); or None when ``mask_ext`` names an extension of ``image``.
    mask_ext : int, str or None
        Extension of ``image`` holding the mask (a data-quality extension, say).
    ext : int or str
        Extension of the image.
    size, operator, smooth
        As for :func:`napari_imagemarker.maskfill`.
    tile : int or None
        Tile side for :func:`~napari_imagemarker.maskfill.tiles.fill_fits_tiled`; None
        tiles only planes larger than ``AUTO_TILE_PIXELS`` (with ``AUTO_TILE``); 0 never
        tiles.
    overlap : int
        Overlap of the tiles.
    grow : int
        Grow the mask by this many pixels before filling (0: as it is).
    """

    image: Path
    output: Path
    mask: Path | None = None
    mask_ext: int | str | None = None
    ext: int | str = 0
    size: int = 3
    operator: str = "median"
    smooth: bool = True
    tile: int | None = None
    overlap: int = DEFAULT_OVERLAP
    grow: int = 0


@dataclass(frozen=True)
class FileResult:
    """What happened to one file: ``status`` is "filled", "tiled", "skipped" or "failed"."""

    image: Path
    output: Path
    status: str
    message: str = ""
    seconds: float = 0.0


@dataclass
class BatchSummary:
    """All the results of a batch, with counts and a printable summary."""

    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    workers: str = ""
    #: Temporary files of killed workers (partial outputs, tile scratch) that were removed.
    removed: list[Path] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        """Number of results with one of these statuses."""
        return sum(r.status in statuses for r in self.results)

    @property
    def failed(self) -> list[FileResult]:
        """The files that failed, in input order."""
        return [r for r in self.results if r.status == "failed"]

    def text(self) -> str:
        """A few lines for people: counts, time, and each failure with its reason."""
        n = len(self.results)
        done = self.count("filled", "tiled")
        tiled = self.count("tiled")
        lines = [
            f"maskfill-batch: {n} file{'s' * (n != 1)} in {self.seconds:.1f} s on {self.workers}:"
            f" {done} filled{f' ({tiled} in tiles)' if tiled else ''},"
            f" {self.count('skipped')} already done, {len(self.failed)} failed"
        ]
        lines += [f"  failed: {r.message}" for r in self.failed]
        if self.removed:
            lines.append(f"  removed {len(self.removed)} partial file(s) left by a killed worker")
        return "\n".join(lines)


def _fits_stem(name: str) -> str | None:
    lower = name.lower()
    for suffix in _FITS_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return None


def mask_path_for(image: Path, suffix: str) -> Path:
    """The mask file beside ``image``: its name without the FITS extension, plus ``suffix``
    (which gets the image's extension if it has none of its own).

    ``mask_path_for(Path("a/m51.fits"), "_mask")`` is ``a/m51_mask.fits``, as is
    ``mask_path_for(Path("a/m51.fits"), "_mask.fits")``.
    """
    stem = _fits_stem(image.name) or image.stem
    if _fits_stem(suffix) is None:
        suffix += image.name[len(stem) :]
    return image.with_name(stem + suffix)


def plan_jobs(
    inputs: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    mask_suffix: str | None = None,
    mask_ext: int | str | None = None,
    **options: Any,
) -> list[FillJob]:
    """One :class:`FillJob` per input image.

    Parameters
    ----------
    inputs : iterable of str or path
        FITS files, and folders whose FITS files (not recursing, mask files excluded) are
        taken in name order.  Hidden files (names starting with ".") are never taken: they
        include the temporary files of a batch writing into that folder.
    out_dir : str or path
        Folder for the outputs, each named like its input (``.fits``, uncompressed).
    mask_suffix : str, optional
        The mask of ``x.fits`` is ``x<suffix>`` (see :func:`mask_path_for`).
    mask_ext : int or str, optional
        Or the mask is this extension of each input.  Exactly one of the two is needed.
    **options
        ``ext``, ``size``, ``operator``, ``smooth``, ``tile``, ``overlap``, ``grow`` of
        :class:`FillJob`.

    Returns
    -------
    list of FillJob
        With absolute paths, so that the workers of a remote cluster find the files
        wherever they were started (the paths must be the same on every machine).

    Raises
    ------
    ValueError
        Neither or both mask options; a size that is not an odd integer >= 3 or a negative
        grow; an input that is neither a FITS file nor a folder; two
        inputs that would write the same output, or an output that would overwrite an input.
    """
    if (mask_suffix is None) == (mask_ext is None):
        raise ValueError("give exactly one of a mask suffix or a mask extension")
    check_size(options.get("size", 3))  # once here, not once per file
    check_grow(options.get("grow", 0))
    # absolute paths: the workers of a cluster need not share this process's directory
    out_dir = Path(out_dir).absolute()
    images: list[Path] = []
    for item in (Path(p).absolute() for p in inputs):
        if item.is_dir():
            found = sorted(
                p
                for p in item.iterdir()
                if p.is_file() and _fits_stem(p.name) and not p.name.startswith(".")
            )
            if mask_suffix is not None:
                found = [p for p in found if not p.name.endswith(_mask_tail(mask_suffix))]
            images += found
        elif _fits_stem(item.name) is not None:
            images.append(item)
        else:
            raise ValueError(f"{item}: not a FITS file or a folder")
    jobs, outputs = [], {}
    for image in images:
        output = out_dir / f"{_fits_stem(image.name)}.fits"
        if output in outputs:
            raise ValueError(f"{outputs[output]} and {image} would both write {output}")
        if output.resolve() == image.resolve():
            raise ValueError(f"{image}: the output folder holds the inputs; choose another")
        outputs[output] = image
        mask = mask_path_for(image, mask_suffix) if mask_suffix is not None else None
        jobs.append(FillJob(image=image, output=output, mask=mask, mask_ext=mask_ext, **options))
    return jobs


def _mask_tail(suffix: str) -> str:
    stem = _fits_stem(suffix)
    return suffix if stem is not None else suffix + ".fits"


def _tile_for(job: FillJob) -> int:
    if job.tile is not None:
        return job.tile
    with open_hdu(job.image, job.ext) as (_, hdu):  # the header only, not the pixels
        shape = tuple(hdu.shape)
    pixels = int(np.prod(shape[-2:])) if len(shape) >= 2 else 0
    return AUTO_TILE if pixels > AUTO_TILE_PIXELS else 0


def fill_file(job: FillJob) -> FileResult:
    """Fill one file; never raises: a failure is a result with the reason.

    The output is what ``imagemarker maskfill IMAGE MASK OUTPUT -e EXT -s SIZE -o OPERATOR``
    writes (``-n`` when not smoothing), written atomically.
    """
    start = time.perf_counter()
    status = "filled"
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        tile = _tile_for(job)
        if tile:
            fill_fits_tiled(
                job.image, job.output,
                mask_path=job.mask, mask_ext=job.mask_ext, ext=job.ext,
                size=job.size, operator=job.operator, smooth=job.smooth,
                tile=tile, overlap=job.overlap, grow=job.grow,
            )  # fmt: skip
            status = "tiled"
        else:
            mask: Any = job.mask
            if mask is None:
                mask, _ = read_hdu(job.image, job.mask_ext)
            maskfill(
                job.image, mask,
                ext=job.ext, size=job.size, operator=job.operator, smooth=job.smooth,
                output_file=job.output, grow=job.grow,
                threads=1,  # the workers fill several images at once: a core each
            )  # fmt: skip
    except Exception as exc:  # one bad file must not stop the batch
        message = str(exc) or type(exc).__name__
        if str(job.image) not in message:
            message = f"{job.image}: {message}"
        return FileResult(job.image, job.output, "failed", message, time.perf_counter() - start)
    return FileResult(job.image, job.output, status, "", time.perf_counter() - start)


@contextlib.contextmanager
def _client(workers: int, scheduler: str | None, processes: bool) -> Iterator[tuple[Any, str]]:
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            n = len(client.scheduler_info().get("workers", {}))
            yield client, f"the cluster at {scheduler} ({n} worker{'s' * (n != 1)})"
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",  # any free port: never clash with a running cluster
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client, f"{workers} local worker{'s' * (workers != 1)}"


def run_batch(
    jobs: Sequence[FillJob],
    *,
    workers: int = 2,
    scheduler: str | None = None,
    force: bool = False,
    processes: bool = True,
    on_result: Callable[[FileResult, int, int], None] | None = None,
) -> BatchSummary:
    """Fill many files on dask.distributed workers.

    Parameters
    ----------
    jobs : sequence of FillJob
        From :func:`plan_jobs`.
    workers : int
        Local worker processes (one thread each) when no ``scheduler`` is given.
    scheduler : str, optional
        Address of an existing dask.distributed scheduler (``tcp://host:8786``); its
        workers must be able to import napari_imagemarker and to read and write the paths.
    force : bool
        Fill files whose output exists too (by default they are skipped as done).
    processes : bool
        Local workers as processes (default) or threads of this process.
    on_result : callable, optional
        Called as ``on_result(result, n_done, n_total)`` as each file ends.

    Returns
    -------
    BatchSummary
        One result per job, in the order of ``jobs``.
    """
    start = time.perf_counter()
    results: dict[int, FileResult] = {}
    todo: list[int] = []
    for i, job in enumerate(jobs):
        if job.output.exists() and not force:
            results[i] = FileResult(job.image, job.output, "skipped", "output exists")
        else:
            todo.append(i)

    def report(i: int, result: FileResult) -> None:
        results[i] = result
        if on_result is not None:
            on_result(result, len(results), len(jobs))

    for i in sorted(results):
        report(i, results[i])
    where = "no workers (nothing to do)"
    if todo:
        from distributed import as_completed

        with _client(workers, scheduler, processes) as (client, where):
            futures = {client.submit(fill_file, jobs[i], pure=False): i for i in todo}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # the worker died, or the task could not run
                    job = jobs[i]
                    result = FileResult(job.image, job.output, "failed", f"{job.image}: {exc}")
                report(i, result)
    # Every job has ended and (local) workers are gone: what is left of a worker killed
    # while writing is garbage.  (Do not run two batches into one folder at the same time.)
    removed = [path for job in jobs for path in leftovers(job.output)]
    for path in removed:
        path.unlink(missing_ok=True)
    ordered = [results[i] for i in range(len(jobs))]
    return BatchSummary(ordered, time.perf_counter() - start, where, removed)


def leftovers(output: Path) -> list[Path]:
    """The temporary files a worker killed while writing ``output`` leaves beside it.

    They are hidden: the atomic write's ``.tmp-<pid>-<random>-<name>`` (a partial FITS
    file) and the tiler's scratch memory maps ``.<name>.<random>.tile``.
    """
    folder = output.parent
    if not folder.is_dir():
        return []
    name = glob.escape(output.name)
    return sorted([*folder.glob(f".tmp-*-{name}"), *folder.glob(f".{name}.*.tile")])
