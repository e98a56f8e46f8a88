"""Helpers of the reliability suite: small images, and child processes that crash.

A crash is a real process ending without cleanup (``os._exit`` or SIGKILL): its files and
its lock file stay on disk exactly as a killed process leaves them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from astropy.io import fits

import napari_imagemarker

SRC = str(Path(napari_imagemarker.__file__).parent.parent)


def make_images(folder: Path, n: int = 3, shape=(20, 30)) -> list[Path]:
    """``n`` small FITS images ``img0.fits`` ... in ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"img{i}.fits"
        fits.PrimaryHDU(np.full(shape, i, np.float32)).writeto(path, overwrite=True)
        paths.append(path)
    return paths


def run_child(code: str, *, user: int | None = None, timeout: float = 120) -> str:
    """Run ``code`` in a new Python process (this package first on its path); return its
    stdout. ``user``: run as this uid (the test process must be root to switch)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}

    def demote():  # pragma: no cover - runs in the child
        if user is not None:
            os.setgid(user)
            os.setuid(user)

    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        preexec_fn=demote if user is not None else None,
    )
    if result.returncode != 0:
        raise AssertionError(f"child failed ({result.returncode}):\n{result.stderr}")
    return result.stdout
