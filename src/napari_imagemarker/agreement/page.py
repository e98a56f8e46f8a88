"""The agreement report as one self-contained HTML page, with matplotlib plots inlined."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np

from napari_imagemarker.agreement.kappa import NOTE

__all__ = ["report_html", "write_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border-bottom:1px solid #ddd;padding:.2em .8em;text-align:right}
td:first-child,th:first-child{text-align:left}
th{background:#f3f3f3} .note{color:#666;font-size:90%} img{max-width:100%}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width=7.0, height=3.0):
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _kappa_plot(report) -> str:
    d = report
    names = [*d["categories"], "nothing here"]
    blocks = [*d["categories"].values(), d["nothing"]]
    values = [b["fleiss_kappa"] for b in blocks]
    fig, ax = _figure(7, 0.5 + 0.45 * len(names))
    y = np.arange(len(names))
    ax.barh(y, [0 if v is None else v for v in values], color="#4477aa")
    for k, v in enumerate(values):
        if v is None:
            ax.text(0.01, k, "undefined", va="center", fontsize=9, color="#666")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlim(min(-0.1, *(v for v in values if v is not None), 0) - 0.05, 1.0)
    ax.set_xlabel("Fleiss' kappa (1 = perfect agreement, 0 = chance)")
    return _png(fig)


def _offsets_plot(report) -> str | None:
    offsets = {u: v for u, v in report.offsets.items() if len(v)}
    if not offsets:
        return None
    unit = report["settings"]["radius_unit"]
    radius = report["settings"]["radius"]
    fig, ax = _figure(7, 3)
    # marks of a cluster may lie up to twice the radius apart: no offset is left out
    bins = np.linspace(0, max(radius, *(float(v.max()) for v in offsets.values())), 21)
    for u, v in offsets.items():
        ax.hist(v, bins=bins, histtype="step", lw=1.5, label=f"{u} ({len(v)})")
    ax.set_xlabel(f"distance of a user's mark from the consensus position ({unit})")
    ax.set_ylabel("marks")
    ax.legend(fontsize=8, ncol=2)
    return _png(fig)


def _disagreement_plot(report, top: int) -> str | None:
    rows = report["images"][:top]
    if not rows:
        return None
    fig, ax = _figure(7, 0.6 + 0.25 * len(rows))
    y = np.arange(len(rows))
    ax.barh(y, [r["disagreement"] for r in rows], color="#cc6677")
    ax.set_yticks(y, [r["image"] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("disagreement (share of pairs of users who answer differently)")
    return _png(fig)


def report_html(report, top: int = 30) -> str:
    """The page's text: the report's tables and plots, images embedded (no other files)."""
    s = report["settings"]
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Agreement: {esc(str(report.save_dir))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>How far the marks agree</h1><p>{esc(str(report.save_dir))}: "
        f"{len(s['users'])} users ({esc(', '.join(s['users']))}), {s['n_images']} images; "
        f"marks agree when within {s['radius']:g} {s['radius_unit']}.</p>",
        "<h2>Kappa per question</h2>",
        f"<img alt='Fleiss kappa per category' src='{_kappa_plot(report)}'>",
    ]
    for title, header, rows in report.sections(top)[1:]:
        parts.append(f"<h3>{esc(title)}</h3><table>")
        parts.append("<tr>" + "".join(f"<th>{esc(str(c))}</th>" for c in header) + "</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    offsets = _offsets_plot(report)
    if offsets:
        parts += ["<h2>Offsets from the consensus</h2>", f"<img alt='offsets' src='{offsets}'>"]
    dis = _disagreement_plot(report, top)
    if dis:
        parts += ["<h2>Most disputed images</h2>", f"<img alt='disagreement' src='{dis}'>"]
    parts.append(f"<p class='note'>{esc(NOTE)} docs/agreement.md explains every number.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report, path: str | os.PathLike, top: int = 30) -> None:
    """Write :func:`report_html` to ``path`` (atomically)."""
    from napari_imagemarker.files import atomic_write

    atomic_write(Path(path), report_html(report, top).encode("utf-8"))
