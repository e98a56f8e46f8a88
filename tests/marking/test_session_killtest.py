"""Kill -9 test: every change a MarkingSession returned survives a SIGKILL, exactly once.

A writer process performs a deterministic sequence of changes (op ``k`` is a function of
``k`` and of the session state it sees) and appends ``k`` to an acknowledgement file right
after each method returned. The test SIGKILLs it at a random moment, reopens the session and
compares it with a model of the sequence: the state must be the model after the acknowledged
ops, or after one more (the op in flight may have reached the disk before the kill). Marks
and image states that differ are counted as lost (acknowledged but missing or stale) or
duplicated (present more than once); both must be 0. The next writer resumes with the next op.

Writers are forked from a helper process that has already imported everything, so each
round costs milliseconds rather than a Python start-up. A quarter of the kills land while the
writer opens and replays; the others after a random number (0-39) of its changes plus a random
delay, so during changes, background snapshots and Image Marker file rewrites (the writer
compacts every 25 changes and rewrites those files after 20 ms of quiet).

Labels and comments carry line breaks (``\\n``, ``\\r\\n``, ``\\r``), commas, quotes and
non-ASCII text, and must come back exactly, from the journal and from the snapshots alike.

``IMAGEMARKER_KILLS`` sets the number of kills (default 200).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

N_IMAGES = 7
WIDTH, HEIGHT = 64, 48
GROUP_MAX = [None] * 7 + [3, 1]  # group 8: at most 3 per image; group 9: a new one replaces
OPS_PER_WRITER = 400
# Endings of labels and comments: text must come back exactly (line breaks inside quoted
# values, delimiters, quotes, non-ASCII), not only the changes themselves.
TEXTS = ("", " line 2\nline 3", ', "quoted"', " café ✓ Ω", "\r\nCRLF\rCR", ' a,\n"b"\r\n')


# -- the deterministic sequence -----------------------------------------------------------------


def choose(k: int, current: str, ids_here: list[int], names: list[str]) -> tuple:
    """Op number ``k``, given the current image and the ids of its marks."""
    r = random.Random(k)
    u, x, y = r.random(), r.uniform(0, WIDTH - 1), r.uniform(0, HEIGHT - 1)
    group, pick = r.randint(1, 9), r.randrange(len(names))
    cats = sorted(r.sample(range(1, 6), r.randint(0, 3)))
    fav = r.random() < 0.5
    text = f"k{k}{r.choice(TEXTS)}"  # unique: "k<k>" then no digit
    if u < 0.50 or (not ids_here and u < 0.72):
        return ("add", x, y, group, text)
    if u < 0.58:
        return ("move", max(ids_here), x, y)
    if u < 0.64:
        return ("label", min(ids_here), text)
    if u < 0.72:
        return ("remove", max(ids_here))
    if u < 0.77:
        return ("comment", text)
    if u < 0.82:
        return ("categories", cats)
    if u < 0.86:
        return ("favorite", fav)
    if u < 0.95:
        return ("next",)
    return ("goto", names[pick])


class Model:
    """What the session should hold after a sequence of ops (and reopenings)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.marks: dict[int, tuple] = {}  # id -> (image, group, label, x, y)
        self.images: dict[str, tuple] = {n: (False, (), "", False) for n in names}
        self.next_id = 1
        self.pos = 0

    def copy(self) -> Model:
        other = Model(self.names)
        other.marks, other.images = dict(self.marks), dict(self.images)
        other.next_id, other.pos = self.next_id, self.pos
        return other

    def reopen(self) -> Model:
        unseen = [i for i, n in enumerate(self.names) if not self.images[n][0]]
        self.pos = unseen[0] if unseen else len(self.names) - 1
        return self

    def ids_on(self, name: str) -> list[int]:
        return [i for i, m in self.marks.items() if m[0] == name]

    def apply(self, k: int) -> Model:
        name = self.names[self.pos]
        op = choose(k, name, self.ids_on(name), self.names)
        kind = op[0]
        seen, cats, comment, fav = self.images[name]
        if kind == "add":
            _, x, y, group, label = op
            same = [i for i in self.ids_on(name) if self.marks[i][1] == group]
            limit = GROUP_MAX[group - 1]
            if limit is not None and limit > 1 and len(same) >= limit:
                return self  # GroupFullError: nothing changes
            if limit == 1:
                for i in same:
                    del self.marks[i]
            self.marks[self.next_id] = (name, group, label, x, y)
            self.next_id += 1
        elif kind == "move":
            m = self.marks[op[1]]
            self.marks[op[1]] = (m[0], m[1], m[2], op[2], op[3])
        elif kind == "label":
            m = self.marks[op[1]]
            self.marks[op[1]] = (m[0], m[1], op[2], m[3], m[4])
        elif kind == "remove":
            del self.marks[op[1]]
        elif kind == "comment":
            self.images[name] = (seen, cats, op[1], fav)
        elif kind == "categories":
            self.images[name] = (seen, tuple(op[1]), comment, fav)
        elif kind == "favorite":
            self.images[name] = (seen, cats, comment, op[1])
        else:
            target = (
                min(self.pos + 1, len(self.names) - 1)
                if kind == "next"
                else self.names.index(op[1])
            )
            if kind == "next" or target != self.pos:
                self.images[name] = (True, cats, comment, fav)
                self.pos = target
        return self


# -- the writer (runs in a forked child) --------------------------------------------------------


def _writer(images: str, save_dir: str, start: int, ack_path: str) -> None:
    from napari_imagemarker.marking.session import GroupFullError, MarkingSession

    ack = os.open(ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    session = MarkingSession(
        images, save_dir, user="killtest", group_max=GROUP_MAX,
        snapshot_every=25, mirror_delay=0.02,
    )  # fmt: skip
    names = [p.name for p in session.paths]
    for k in range(start, start + OPS_PER_WRITER):
        name = session.current.name
        ids = [int(i) for i in session.image_marks()["id"]]
        op = choose(k, name, ids, names)
        kind = op[0]
        if kind == "add":
            with contextlib.suppress(GroupFullError):
                session.add_mark(op[1], op[2], op[3], label=op[4])
        elif kind == "move":
            session.move_mark(op[1], op[2], op[3])
        elif kind == "label":
            session.set_label(op[1], op[2])
        elif kind == "remove":
            session.remove_mark(op[1])
        elif kind == "comment":
            session.set_comment(op[1])
        elif kind == "categories":
            session.set_categories(op[1])
        elif kind == "favorite":
            session.set_favorite(op[1])
        elif kind == "next":
            session.next()
        else:
            session.goto(op[1])
        os.write(ack, b"%d\n" % k)
    time.sleep(3600)  # wait for the kill


def zygote() -> None:
    """Import everything once, then fork one writer per ``run`` command read from stdin."""
    import tempfile

    import napari_imagemarker.imgmarker.savedir  # noqa: F401
    from napari_imagemarker.marking.session import MarkingSession

    images = sys.argv[2]
    with (  # load every lazily imported module
        tempfile.TemporaryDirectory() as warm,
        MarkingSession(images, warm, user="warm", mirror_delay=0) as session,
    ):
        session.add_mark(1, 1, 1)
        session.next()
    for line in sys.stdin:
        _, start, save_dir, ack_path, err_path = line.split()
        pid = os.fork()
        if pid == 0:  # the writer
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(err, 2)
            try:
                _writer(images, save_dir, int(start), ack_path)
            except BaseException:
                import traceback

                traceback.print_exc()
                os._exit(3)
            os._exit(0)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(status, flush=True)


# -- the test ---------------------------------------------------------------------------------


def _make_images(folder: Path) -> Path:
    import numpy as np
    from astropy.io import fits
    from astropy.wcs import WCS
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(N_IMAGES - 1):
        pixels = rng.integers(0, 255, (HEIGHT, WIDTH), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i + 1}.png")
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [32.0, 24.0]
    wcs.wcs.cdelt = [-1 / 3600, 1 / 3600]
    data = rng.normal(size=(HEIGHT, WIDTH)).astype(np.float32)
    fits.PrimaryHDU(data, header=wcs.to_header()).writeto(folder / f"img{N_IMAGES}.fits")
    return folder


def _actual(images: Path, save_dir: Path) -> tuple[dict, dict]:
    from napari_imagemarker.marking.session import MarkingSession

    with MarkingSession(images, save_dir, user="killtest", read_only=True) as session:
        marks = {
            int(r["id"]): (str(r["image"]), int(r["group"]), str(r["label"]), float(r["x"]),
                           float(r["y"]))
            for r in session.marks
        }  # fmt: skip
        cats = {c: i + 1 for i, c in enumerate(session.categories)}
        states = {
            str(r["image"]): (
                bool(r["seen"]),
                tuple(cats[c] for c in str(r["categories"]).split("+") if c),
                str(r["comment"]),
                bool(r["favorite"]),
            )
            for r in session.images
        }
    return marks, states


def _differences(model: Model, marks: dict, states: dict) -> tuple[int, int]:
    """(lost, duplicated) changes of ``model`` relative to the session's state."""
    lost = sum(1 for i, m in model.marks.items() if marks.get(i) != m)
    labels = [m[2] for m in marks.values() if m[2]]
    duplicated = len(labels) - len(set(labels))
    duplicated += sum(1 for i in marks if i not in model.marks)
    lost += sum(1 for n, s in model.images.items() if states.get(n) != s)
    return lost, duplicated


def _wait_for_acks(path: Path, n: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if n == 0 or (path.exists() and path.read_bytes().count(b"\n") >= n):
            return
        time.sleep(0.001)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks its writers (POSIX only)")
def test_sigkill_loses_and_duplicates_nothing(tmp_path):
    kills = int(os.environ.get("IMAGEMARKER_KILLS", "200"))
    images = _make_images(tmp_path / "images")
    save_dir = tmp_path / "save"
    names = sorted(p.name for p in images.iterdir())
    names.sort(key=lambda n: int(n[3:].split(".")[0]))
    zyg = subprocess.Popen(
        [sys.executable, __file__, "--zygote", str(images)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    rng = random.Random(20261121)
    model, done = Model(names), 0
    total_lost = total_duplicated = in_flight_durable = acked_total = 0
    try:
        for round_ in range(kills):
            ack_path, err_path = tmp_path / f"ack{round_}", tmp_path / f"err{round_}"
            zyg.stdin.write(f"run {done + 1} {save_dir} {ack_path} {err_path}\n")
            zyg.stdin.flush()
            pid = int(zyg.stdout.readline())
            # A quarter early, while the writer opens and replays; the rest after a random
            # number of its changes (whatever the machine's speed), plus a random delay.
            if rng.random() < 0.25:
                time.sleep(rng.uniform(0, 0.02))
            else:
                _wait_for_acks(ack_path, rng.randrange(40), deadline=time.monotonic() + 20)
                time.sleep(rng.uniform(0, 0.005))
            # ProcessLookupError: it ended by itself, and the assertion below says why
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            status = int(zyg.stdout.readline())
            assert os.WIFSIGNALED(status), (
                f"writer ended by itself (status {status}): {err_path.read_text()}"
            )
            acks = [int(v) for v in ack_path.read_text().split()] if ack_path.exists() else []
            assert acks == list(range(done + 1, done + 1 + len(acks)))
            acked_total += len(acks)
            expected = model.copy().reopen()
            for k in acks:
                expected.apply(k)
            marks, states = _actual(images, save_dir)
            one_more = expected.copy().apply(done + len(acks) + 1)
            if _differences(one_more, marks, states) == (0, 0) and (
                _differences(expected, marks, states) != (0, 0)
            ):
                model, done = one_more, done + len(acks) + 1
                in_flight_durable += 1
                continue
            lost, duplicated = _differences(expected, marks, states)
            total_lost += lost
            total_duplicated += duplicated
            model, done = expected, done + len(acks)
            if lost or duplicated:  # resynchronise the model to go on counting
                break
    finally:
        zyg.stdin.close()
        zyg.kill()
        zyg.wait()
    print(
        f"\nkill test: {kills} SIGKILLs, {acked_total} acknowledged changes, "
        f"{in_flight_durable} unacknowledged in-flight changes found durable, "
        f"lost {total_lost}, duplicated {total_duplicated}"
    )
    assert total_lost == 0
    assert total_duplicated == 0
    assert acked_total > 10 * kills  # the kills did land among changes
    assert len(model.marks) > kills // 2


if __name__ == "__main__" and sys.argv[1:2] == ["--zygote"]:
    zygote()
