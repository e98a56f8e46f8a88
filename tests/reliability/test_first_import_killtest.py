"""Kill -9 during the first open of an Image Marker folder: the import is all or nothing.

The first open of a folder Image Marker wrote imports its marks, group and category names,
seen images, categories, comments and favourites into the session, as one journal record.
A writer process opens a fresh copy of such a folder (the real one in tests/data, written
by imgmarker 1.2) and closes the session, which also rewrites Image Marker's files; it is
SIGKILLed at a random moment of that. The test then opens the folder again, as a user would,
and compares what the session holds, and then what Image Marker's own files hold, with a
run that was not killed. Every difference is a loss; there must be none.

Writers are forked from a helper process that has imported everything, so a round costs
milliseconds, not a Python start-up. ``IMAGEMARKER_IMPORT_KILLS`` sets the number of kills
(default 100, under a minute on 2 cores).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data" / "imgmarker"
USER = "tester"


def _open(images: str, save: str, **kwargs):
    from napari_imagemarker.marking.session import MarkingSession

    return MarkingSession(images, save, user=USER, mirror_delay=0.005, **kwargs)


def _writer(images: str, save: str) -> None:
    _open(images, save).close()
    time.sleep(3600)  # wait for the kill


def zygote() -> None:
    """Import everything, time one undisturbed open + close, then fork one writer per line
    of stdin (``<save folder>``), printing its pid and then its wait status."""
    images, template = sys.argv[2], sys.argv[3]
    work = Path(sys.argv[4])
    durations = []
    for k in range(3):  # the first run also imports lazily loaded modules: not timed
        shutil.copytree(template, work / f"warm{k}")
        start = time.monotonic()
        _open(images, str(work / f"warm{k}")).close()
        durations.append(time.monotonic() - start)
    print(min(durations[1:]), flush=True)
    for line in sys.stdin:
        save = line.strip()
        pid = os.fork()
        if pid == 0:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            try:
                _writer(images, save)
            finally:
                os._exit(3)
        print(pid, flush=True)
        print(os.waitpid(pid, 0)[1], flush=True)


def _content(images: Path, save: Path) -> dict:
    """What the session holds, then what Image Marker's files hold, after a normal open and
    close (which finishes an interrupted import, or imports afresh)."""
    from napari_imagemarker.imgmarker.savedir import read_savedir

    with _open(str(images), str(save)) as s:
        marks = sorted(
            (str(r["image"]), int(r["group"]), str(r["label"]), round(float(r["x"]), 6),
             round(float(r["y"]), 6))
            for r in s.marks
        )  # fmt: skip
        table = s.images
        states = sorted(
            (str(r["image"]), bool(r["seen"]), str(r["categories"]), str(r["comment"]),
             bool(r["favorite"]))
            for r in table
        )  # fmt: skip
        names = (s.groups, s.categories, s.group_max)
    saved = read_savedir(save, USER, images=str(images))
    files = sorted(
        (str(r["image"]), bool(r["seen"]), str(r["categories"]), str(r["comment"]),
         bool(r["favorite"]))
        for r in saved.images
    )  # fmt: skip
    file_marks = sorted(
        (str(r["image"]), int(r["group"]), str(r["label"]), round(float(r["x"]), 6),
         round(float(r["y"]), 6))
        for r in saved.marks
    )  # fmt: skip
    return {
        "session marks": marks,
        "session images": states,
        "names": names,
        "file images": files,
        "file marks": file_marks,
        "file names": (saved.groups, saved.categories),
    }


def _lost(expected: dict, actual: dict) -> int:
    """Entries of ``expected`` missing from ``actual`` (or different), over every part."""
    lost = 0
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, list):
            lost += len(set(want) - set(got)) + len(set(got) - set(want))
        else:
            lost += want != got
    return lost


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks its writers (POSIX only)")
def test_sigkill_during_the_first_import_loses_nothing(tmp_path):
    kills = int(os.environ.get("IMAGEMARKER_IMPORT_KILLS", "100"))
    images = DATA / "images"
    template = tmp_path / "template"
    shutil.copytree(DATA / "savedir", template)
    reference = tmp_path / "reference"
    shutil.copytree(template, reference)
    expected = _content(images, reference)
    assert len(expected["session marks"]) > 5 and any(s[3] for s in expected["session images"])

    zyg = subprocess.Popen(
        [sys.executable, __file__, "--zygote", str(images), str(template), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    rng = random.Random(20261204)
    total_lost, stages = 0, {"nothing saved": 0, "imported, not closed": 0, "closed": 0}
    try:
        duration = float(zyg.stdout.readline())
        for round_ in range(kills):
            save = tmp_path / f"save{round_}"
            shutil.copytree(template, save)
            zyg.stdin.write(f"{save}\n")
            zyg.stdin.flush()
            pid = int(zyg.stdout.readline())
            time.sleep(rng.uniform(0, 1.1 * duration))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            status = int(zyg.stdout.readline())
            assert os.WIFSIGNALED(status), f"writer ended by itself (status {status})"
            journal = save / ".imagemarker" / USER
            lock = save / ".imagemarker" / f"{USER}.lock"
            if (save / f"{USER}_images.ecsv").exists() and not lock.exists():
                stages["closed"] += 1
            elif journal.is_dir() and any(p.stat().st_size for p in journal.iterdir()):
                stages["imported, not closed"] += 1
            else:
                stages["nothing saved"] += 1
            lost = _lost(expected, _content(images, save))
            total_lost += lost
            assert lost == 0, f"round {round_}: {lost} differences after the kill"
            shutil.rmtree(save)
    finally:
        zyg.stdin.close()
        zyg.kill()
        zyg.wait()
    print(f"\nimport kill test: {kills} SIGKILLs, stages {stages}, lost {total_lost}")
    assert total_lost == 0
    # the kills did land before, inside and after the import
    assert stages["nothing saved"] and stages["imported, not closed"]


if __name__ == "__main__" and sys.argv[1:2] == ["--zygote"]:
    zygote()
