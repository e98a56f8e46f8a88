"""The ``imagemarker`` command line.

Each subcommand is one function that takes the parsed arguments and returns the exit code,
registered with its arguments by the `subcommand` decorator::

    @subcommand("convert-marks", "convert a marks file to another format",
                arg("input", help="marks file"), arg("output", help="file to write"))
    def _convert_marks(args: argparse.Namespace) -> int:
        from napari_imagemarker.marks.io import read_marks, write_marks  # import the work lazily
        write_marks(read_marks(args.input), args.output)
        return 0

Bad input (a ``ValueError`` or ``OSError`` from the work, or a bad argument) ends the
command with exit code 2 and one line on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

PROG = "imagemarker"

#: A subcommand: parsed arguments in, exit code out.
Command = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class _Subcommand:
    name: str
    help: str
    arguments: tuple[tuple[tuple[str, ...], dict[str, Any]], ...]
    run: Command


_SUBCOMMANDS: dict[str, _Subcommand] = {}


def arg(*names: str, **kwargs: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One argument of a subcommand, as for ``ArgumentParser.add_argument``."""
    return names, kwargs


def subcommand(name: str, help: str, *arguments: tuple) -> Callable[[Command], Command]:
    """Register the decorated function as ``imagemarker NAME`` with these `arg` arguments."""

    def register(run: Command) -> Command:
        if name in _SUBCOMMANDS:
            raise ValueError(f"subcommand {name!r} is registered twice")
        _SUBCOMMANDS[name] = _Subcommand(name, help, arguments, run)
        return run

    return register


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``imagemarker`` with every registered subcommand."""
    from napari_imagemarker.version import version as __version__

    parser = _Parser(prog=PROG, description="napari-imagemarker on the command line.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in _SUBCOMMANDS.values():
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        for names, kwargs in command.arguments:
            sub.add_argument(*names, **kwargs)
        sub.set_defaults(run=command.run, prog=sub.prog)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``imagemarker`` with ``argv`` (default: the process's arguments).

    Returns
    -------
    int
        The exit code: 0 on success, 2 for bad input or arguments, 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argument errors
        return int(exc.code or 0)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:
        print(f"{args.prog}: error: {exc or 'not enough memory'}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{args.prog}: error: {message}", file=sys.stderr)
        return 2


class ProgressLine:
    """A one-line progress report on a stream, for long runs.

    On a terminal the line is redrawn in place (first after ``delay`` seconds, so that
    quick runs print nothing); on other streams, used with ``-v``, a line is printed at
    every tenth of the work.

    Parameters
    ----------
    label : str
        What is being done, e.g. ``"maskfill in.fits"``.
    unit : str
        What is counted, e.g. ``"pixels"``.
    stream : file, optional
        Default ``sys.stderr``.
    delay : float, optional
        Seconds before a terminal line is first drawn.
    """

    def __init__(
        self, label: str, unit: str, stream: TextIO | None = None, delay: float = 0.5
    ) -> None:
        self.label = label
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.live = self.stream.isatty()
        self.delay = delay
        self.start = time.monotonic()
        self.drawn = 0.0  # when the line was last drawn; 0 = never
        self.tenth = -1

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        fraction = done / total if total else 1.0
        elapsed = now - self.start
        text = f"{self.label}: {fraction:4.0%} ({done}/{total} {self.unit}, {elapsed:.1f} s)"
        if self.live:
            due = now - self.start >= self.delay and (now - self.drawn >= 0.1 or done >= total)
            if due:
                self.stream.write(f"\r{text}\x1b[K")
                self.stream.flush()
                self.drawn = now
        elif int(fraction * 10) > self.tenth:
            self.tenth = int(fraction * 10)
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """End the terminal line, if one was drawn."""
        if self.live and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _extension(text: str) -> int | str:
    """A FITS extension: an index, or a name such as SCI."""
    return int(text) if text.lstrip("-").isdigit() else text


#: maskfill's own flags (those of the reference's command line), shared by both subcommands.
FILL_OPTIONS = (
    arg("-e", "--extension", type=_extension, default=0, metavar="EXT",
        help="extension (index or name) of the image, and of the mask when it is a file of "
        "its own (default 0)"),
    arg("-s", "--size", type=int, default=3, help="odd window size, >= 3 (default 3)"),
    arg("-o", "--operator", choices=("median", "mean"), default="median",
        help="statistic that fills a pixel (default median)"),
    arg("-n", "--nosmooth", action="store_true", help="skip the final boxcar smoothing"),
)  # fmt: skip


@subcommand(
    "maskfill",
    "fill the masked pixels of a FITS image (van Dokkum & Pasha 2024); OUT has the "
    "result in HDU 0 and, when smoothing, the unsmoothed image in HDU 1",
    arg("input", metavar="IN", help="FITS image"),
    arg("mask", metavar="MASK", help="FITS mask: non-zero (or NaN) pixels are filled"),
    arg("output", metavar="OUT", help="FITS file to write (replaced if it exists)"),
    *FILL_OPTIONS,
    arg("-w", "--writesteps", action="store_true",
        help="write the image after each iteration as _iter_<n>.fits"),
    arg("-g", "--grow", type=int, default=0, metavar="N",
        help="grow the mask by N pixels before filling (default 0)"),
    arg("-t", "--threads", type=int, default=None, metavar="N",
        help="CPU threads to use (default: every core; the result does not depend on it)"),
    arg("-v", "--verbose", action="store_true", help="report progress and what is written"),
)  # fmt: skip
def _maskfill(args: argparse.Namespace) -> int:
    from napari_imagemarker.maskfill import maskfill

    progress = None
    if args.verbose or sys.stderr.isatty():
        progress = ProgressLine(f"maskfill {args.input}", "pixels")
    try:
        maskfill(
            args.input,
            args.mask,
            ext=args.extension,
            size=args.size,
            operator=args.operator,
            smooth=not args.nosmooth,
            # beside OUT, not wherever the command was started
            writesteps=Path(args.output).absolute().parent if args.writesteps else False,
            output_file=args.output,
            grow=args.grow,
            progress=progress,
            threads=args.threads,
        )
    finally:
        if progress is not None:
            progress.close()
    if args.verbose:
        layout = "HDU 0 smoothed, HDU 1 unsmoothed" if not args.nosmooth else "HDU 0"
        print(f"{args.prog}: wrote {args.output} ({layout})", file=sys.stderr)
    return 0


@subcommand(
    "maskfill-batch",
    "fill many FITS images with maskfill on dask workers (local, or an existing cluster); "
    "each output is what 'imagemarker maskfill' writes; files already done are skipped",
    arg("inputs", nargs="+", metavar="INPUTS", help="FITS files, or folders of them"),
    arg("--mask-ext", type=_extension, metavar="NAME",
        help="the mask is this extension (index or name) of each input"),
    arg("--mask-suffix", metavar="SUFFIX",
        help="the mask of x.fits is x<SUFFIX> beside it (e.g. _mask or _mask.fits)"),
    arg("--out", required=True, metavar="DIR", help="folder for the outputs (same names)"),
    arg("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
        help="local worker processes (default: one per CPU)"),
    arg("--scheduler", metavar="ADDRESS",
        help="use the dask.distributed cluster at ADDRESS (tcp://host:8786) instead"),
    *FILL_OPTIONS,
    arg("--tile", type=int, default=None, metavar="N",
        help="fill in N x N tiles (default: only planes over 8192 x 8192, in 4096 tiles; "
        "0: never)"),
    arg("--overlap", type=int, default=256, metavar="N",
        help="pixels around each tile (default 256); exact when it is at least the "
        "largest masked region's extent - 1 + size // 2, else the file fails"),
    arg("-g", "--grow", type=int, default=0, metavar="N",
        help="grow each mask by N pixels before filling (default 0)"),
    arg("--force", action="store_true", help="fill files whose output exists too"),
    arg("-v", "--verbose", action="store_true", help="report progress"),
)  # fmt: skip
def _maskfill_batch(args: argparse.Namespace) -> int:
    from napari_imagemarker.maskfill.batch import plan_jobs, run_batch

    if (args.mask_ext is None) == (args.mask_suffix is None):
        raise ValueError("give exactly one of --mask-ext NAME or --mask-suffix SUFFIX")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, not {args.jobs}")
    jobs = plan_jobs(
        args.inputs, args.out, mask_suffix=args.mask_suffix, mask_ext=args.mask_ext,
        ext=args.extension, size=args.size, operator=args.operator,
        smooth=not args.nosmooth, tile=args.tile, overlap=args.overlap, grow=args.grow,
    )  # fmt: skip
    if not jobs:
        raise ValueError(f"no FITS files in {' '.join(args.inputs)}")
    progress = None
    if args.verbose or sys.stderr.isatty():
        progress = ProgressLine("maskfill-batch", "files")

    def on_result(result, done: int, total: int) -> None:
        if result.status == "failed":
            if progress is not None and progress.drawn:
                sys.stderr.write("\r\x1b[K")
            print(f"{args.prog}: failed: {result.message}", file=sys.stderr, flush=True)
        if progress is not None:
            progress(done, total)

    try:
        summary = run_batch(
            jobs, workers=args.jobs, scheduler=args.scheduler, force=args.force,
            on_result=on_result,
        )  # fmt: skip
    finally:
        if progress is not None:
            progress.close()
    print(summary.text())
    return 1 if summary.failed else 0


_USERS_HELP = "comma-separated users to compare (default: everyone with files in SAVE_DIR)"
_RADIUS_HELP = (
    "how far a mark may lie from the feature it marks: pixels (3) or an angle (1arcsec, "
    "then marks are compared by RA/Dec); two users' marks of one feature are at most twice "
    "this apart (default 3)"
)
_MIN_USERS_HELP = (
    "a consensus mark needs at least K users (default: more than half of those who saw "
    "the image, and at least 2)"
)


@subcommand(
    "agreement",
    "how far several users agree: kappas per category, consensus marks, precision and "
    "recall, self-consistency on repeated images, a gold standard; prints tables",
    arg("save_dir", metavar="SAVE_DIR",
        help="save folder with several users' sessions (ours or Image Marker's)"),
    arg("--users", metavar="A,B,...", help=_USERS_HELP),
    arg("--radius", default="3", metavar="R", help=_RADIUS_HELP),
    arg("--gold", action="append", metavar="FILE",
        help="marks file and/or categories file taken as the truth (may be repeated)"),
    arg("--min-users", type=int, metavar="K", help=_MIN_USERS_HELP),
    arg("--json", metavar="OUT.json", help="write every number as JSON"),
    arg("--report", metavar="OUT.html", help="write a self-contained HTML page with plots"),
    arg("--top", type=int, default=10, metavar="N",
        help="disputed images listed (default 10)"),
)  # fmt: skip
def _agreement(args: argparse.Namespace) -> int:
    from napari_imagemarker.agreement import agreement

    report = agreement(
        args.save_dir, users=args.users, radius=args.radius, gold=args.gold,
        min_users=args.min_users,
    )  # fmt: skip
    print(report.tables(top=args.top))
    if args.json:
        report.to_json(args.json)
        print(f"numbers written to {args.json}")
    if args.report:
        report.write_html(args.report, top=max(args.top, 30))
        print(f"report written to {args.report}")
    return 0


@subcommand(
    "consensus",
    "write the consensus marks of several users (clusters of marks they agree on) as a "
    "marks file: .ecsv, .csv, .reg (DS9), .xml (VOTable)",
    arg("save_dir", metavar="SAVE_DIR", help="save folder with several users' sessions"),
    arg("output", metavar="OUT", help="marks file to write (format from the suffix)"),
    arg("--min-users", type=int, metavar="K", help=_MIN_USERS_HELP),
    arg("--users", metavar="A,B,...", help=_USERS_HELP),
    arg("--radius", default="3", metavar="R", help=_RADIUS_HELP),
)  # fmt: skip
def _consensus(args: argparse.Namespace) -> int:
    from napari_imagemarker.agreement import agreement
    from napari_imagemarker.marks.io import write_marks

    report = agreement(
        args.save_dir, users=args.users, radius=args.radius, min_users=args.min_users
    )
    table = report.consensus_marks()
    write_marks(table, args.output)
    images = len(set(table["image"].tolist()))
    print(f"{len(table)} consensus mark(s) on {images} image(s) written to {args.output}")
    return 0


@subcommand(
    "mark",
    "open napari with a marking session (keys 1-9 or clicks mark, Tab moves on, every "
    "action is saved at once); without arguments, a demo session on images shipped with "
    "the package",
    arg("images", nargs="?", metavar="IMAGES", help="folder, glob or list file of images"),
    arg("save_dir", nargs="?", metavar="SAVE_DIR",
        help="folder for the marks (made if needed; an Image Marker save folder works too)"),
    arg("--user", help="whose marks (default: the login name)"),
)  # fmt: skip
def _mark(args: argparse.Namespace) -> int:
    from napari_imagemarker._napari.launch import main as launch

    argv = [a for a in (args.images, args.save_dir) if a is not None]
    return launch(argv + (["--user", args.user] if args.user else []))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
