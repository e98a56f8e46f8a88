"""Agreement report at survey scale: 20 users x 5,000 images x 5 marks each.

Writes 20 users' session files (the snapshot files a MarkingSession leaves on close: 25,000
marks and 5,000 image rows each) into a temporary folder, then times
``napari_imagemarker.agreement(folder, radius=3)`` end to end (reading every file, kappas,
consensus clustering, precision/recall, self-consistency on repeats, ranking), best of N.

There is no competitor for the whole report (Image Marker computes no statistic). The kappas
are timed side by side with the textbook implementations the tests compare against
(scikit-learn's ``cohen_kappa_score`` for every pair, statsmodels' ``fleiss_kappa``), on the
same answers, alternating, best of N; the ratio is printed.

Run: ``python benchmarks/bench_agreement.py [--users 20] [--images 5000] [--marks 5] [-n 3]``;
``--folder DIR`` only writes the folder (docs/agreement.md uses one).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_folder(folder: Path, n_users: int, n_images: int, n_marks: int, seed: int = 0):
    """Session files of ``n_users`` users: each marks the same ``n_marks`` sources per image
    (group 1 or 2), misses 10%, scatters 1 px, adds a spurious mark on 5% of images, ticks
    category 1 on about 20% (agreeing with the truth 85% of the time), and repeats 5% of
    the images."""
    from napari_imagemarker.marking.repeats import REPEAT_ID_START, REPEATS_DIR
    from napari_imagemarker.marking.state import ImageState, Mark, SessionState
    from napari_imagemarker.marking.store import images_snapshot, marks_snapshot

    rng = np.random.default_rng(seed)
    names = [f"spt{i:05d}.fits" for i in range(n_images)]
    sources = rng.uniform(10, 490, size=(n_images, n_marks, 2))
    truth_cat = rng.random(n_images) < 0.2
    (folder / REPEATS_DIR).mkdir(parents=True, exist_ok=True)

    def session_files(where: Path, user: str, images: list[int], id0: int) -> None:
        state = SessionState()
        state.groups = ["BCG", "member", "3", "4", "5", "6", "7", "8", "9"]
        state.categories = ["merger", "2", "3", "4", "5"]
        hit = rng.random((len(images), n_marks)) < 0.9
        ii, ss = np.nonzero(hit)
        xy = sources[np.asarray(images)[ii], ss] + rng.normal(0, 1, size=(len(ii), 2))
        marks = {}
        for k, (i, s, (x, y)) in enumerate(zip(ii.tolist(), ss.tolist(), xy.tolist())):
            name = names[images[i]]
            marks[id0 + k] = Mark(name, 0, s % 2 + 1, "", x, y, float("nan"), float("nan"),
                                  user, "2026-12-04T12:00:00.000Z")  # fmt: skip
        extra = rng.random(len(images)) < 0.05
        for k, i in enumerate(np.flatnonzero(extra).tolist()):
            x, y = rng.uniform(0, 500, 2)
            marks[id0 + len(ii) + k] = Mark(names[images[i]], 0, 1, "", x, y, float("nan"),
                                            float("nan"), user, "2026-12-04T12:00:00.000Z")  # fmt: skip
        answers = truth_cat[images] ^ (rng.random(len(images)) < 0.15)
        state.images = {
            names[i]: ImageState(seen=True, categories=(1,) if a else ())
            for i, a in zip(images, answers.tolist())
        }
        state.marks = marks
        state.next_id = id0 + len(marks) + 1
        state.paths = [names[i] for i in images]
        (where / f"{user}_marks.ecsv").write_bytes(marks_snapshot(state, marks, 1))
        (where / f"{user}_images.ecsv").write_bytes(
            images_snapshot(state, state.images, state.paths, 1)
        )

    for u in range(n_users):
        user = f"user{u:02d}"
        session_files(folder, user, list(range(n_images)), 1)
        repeated = sorted(rng.choice(n_images, n_images // 20, replace=False).tolist())
        session_files(folder / REPEATS_DIR, user, repeated, REPEAT_ID_START)


def kappas_textbook(answers: np.ndarray) -> float:
    """Every pair's Cohen's kappa and Fleiss' kappa of one yes/no question, with
    scikit-learn and statsmodels; returns the Fleiss kappa."""
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa

    n = answers.shape[1]
    for a in range(n):
        for b in range(a + 1, n):
            cohen_kappa_score(answers[:, a], answers[:, b])
    table = np.stack([(~answers).sum(1), answers.sum(1)], axis=1)
    return fleiss_kappa(table)


def kappas_ours(answers: np.ndarray) -> float:
    from napari_imagemarker.agreement.kappa import cohen_kappa, fleiss_kappa

    n = answers.shape[1]
    for a in range(n):
        for b in range(a + 1, n):
            cohen_kappa(answers[:, a], answers[:, b])
    table = np.stack([(~answers).sum(1), answers.sum(1)], axis=1)
    return fleiss_kappa(table).kappa


def best(function, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        function()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--images", type=int, default=5000)
    p.add_argument("--marks", type=int, default=5)
    p.add_argument("-n", type=int, default=3, help="repeats; the best is printed")
    p.add_argument("--folder", type=Path, help="write the team's folder here and keep it")
    args = p.parse_args(argv)
    if args.folder is not None:
        make_folder(args.folder, args.users, args.images, args.marks)
        print(f"wrote {args.users} users' sessions to {args.folder}")
        return 0

    t0 = time.perf_counter()
    from napari_imagemarker import agreement

    imports = time.perf_counter() - t0
    print(
        f"# bench_agreement  {time.strftime('%Y-%m-%d')}  {platform.system()} "
        f"{len(__import__('os').sched_getaffinity(0))} cores  Python {platform.python_version()}"
        f"  (imports {imports:.2f} s, not counted)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        make_folder(folder, args.users, args.images, args.marks)
        print(f"# folder: {args.users} users x {args.images} images x {args.marks} sources "
              f"(written in {time.perf_counter() - t:.1f} s)")  # fmt: skip
        report = None

        def run():
            nonlocal report
            report = agreement(folder, radius=3)

        agreement(folder, radius=3, users=["user00", "user01"])  # imports not timed
        total = best(run, args.n)
        s = report["settings"]
        n_cons = sum(g["n_consensus"] for g in report["groups"].values())
        print(f"\n## whole report, best of {args.n}")
        print(f"agreement(folder, radius=3): {total:.2f} s   ({s['n_images']} images, "
              f"{len(s['users'])} users, {n_cons} consensus marks, "
              f"{len(report['self_consistency'])} users with repeats)")  # fmt: skip
        t = time.perf_counter()
        report.to_json(folder / "out.json")
        print(f"to_json: {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        report.write_html(folder / "out.html")
        print(f"write_html (3 plots): {time.perf_counter() - t:.2f} s")

        # kappas side by side on the report's own yes/no answers (category 1)
        from napari_imagemarker.agreement.load import load_users

        works = load_users(folder)
        answers = np.stack(
            [np.array([1 in w.categories.get(n, ()) for n in sorted(w.seen)]) for w in works],
            axis=1,
        )
        kappas_ours(answers), kappas_textbook(answers)  # imports and first calls not timed
        ours, theirs = [], []
        for _ in range(args.n):  # alternating
            ours.append(best(lambda: kappas_ours(answers), 1))
            theirs.append(best(lambda: kappas_textbook(answers), 1))
        assert abs(kappas_ours(answers) - kappas_textbook(answers)) < 1e-12
        pairs = args.users * (args.users - 1) // 2
        print(f"\n## one question's kappas ({pairs} Cohen pairs + Fleiss), best of {args.n}")
        print(f"ours:                      {min(ours) * 1e3:8.1f} ms")
        print(f"scikit-learn + statsmodels: {min(theirs) * 1e3:8.1f} ms")
        print(f"ratio (textbook / ours):   {min(theirs) / min(ours):8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
