"""The portfolio outputs of a batch: portfolio.csv, portfolio.nc, portfolio.html.

Everything is written to a temporary file beside the destination and moved into
place, so a batch killed while writing them leaves the previous file or none.
``portfolio.nc`` is filled one project at a time from the per-draw NPV each
project folder holds (``npv.npy``), so memory stays at a few draws-long
vectors however many projects there are.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roicast import __version__
from roicast.report._io import atomic_file

__all__ = [
    "CSV_COLUMNS",
    "rank_records",
    "write_portfolio_csv",
    "write_portfolio_html",
    "write_portfolio_nc",
]

#: Columns of portfolio.csv, in order.
CSV_COLUMNS = (
    "rank",
    "name",
    "status",
    "error",
    "option",
    "verdict",
    "npv_mean",
    "npv_p10",
    "npv_p50",
    "npv_p90",
    "roi_mean",
    "roi_p10",
    "roi_p50",
    "roi_p90",
    "prob_npv_negative",
    "payback_p50_months",
    "payback_prob_within_horizon",
    "evpi",
    "currency",
    "draws",
    "seed",
    "spec_hash",
    "source",
    "folder",
    "seconds",
    "investment_mean",
    "engineer_months_mean",
    "diagnosis",
    "selected",
)
FINISHED = ("done", "skipped")
#: Per-project numbers portfolio.nc holds besides NPV, P(NPV < 0) and EVPI.
PER_PROJECT_EXTRA = ("investment_mean", "engineer_months_mean")


def rank_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Finished projects by mean NPV (highest first), then failed ones by name; sets ``rank``."""
    ok = sorted(
        (r for r in records if r["status"] in FINISHED),
        key=lambda r: (-(r.get("npv_mean") or -math.inf), r["name"]),
    )
    bad = sorted((r for r in records if r["status"] not in FINISHED), key=lambda r: r["name"])
    out = []
    for i, r in enumerate(ok, 1):
        out.append({**r, "rank": i})
    for r in bad:
        out.append({**r, "rank": None})
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(v)
    return str(v)


def write_portfolio_csv(ranked: Sequence[dict[str, Any]], path: Path) -> None:
    """portfolio.csv: one row per project (columns :data:`CSV_COLUMNS`).

    ``selected`` is ``true`` / ``false`` when the batch chose projects under a
    budget, empty otherwise; ``diagnosis`` is empty unless the project is flagged
    (:func:`roicast.batch.record.diagnose`).
    """
    with atomic_file(path) as tmp:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(CSV_COLUMNS)
            for r in ranked:
                w.writerow([_cell(r.get(c)) for c in CSV_COLUMNS])


def _dist(x: np.ndarray) -> dict[str, float | None]:
    if x.size == 0:
        return {"mean": None, "p10": None, "p50": None, "p90": None, "prob_negative": None}
    q = np.quantile(x, [0.1, 0.5, 0.9])
    return {
        "mean": float(x.mean()),
        "p10": float(q[0]),
        "p50": float(q[1]),
        "p90": float(q[2]),
        "prob_negative": float((x < 0).mean()),
    }


def _per_project(f, done: Sequence[dict[str, Any]]) -> None:
    """Per-project numbers and verdicts as ``(project,)`` variables."""
    import h5py

    for key in ("npv_mean", "prob_npv_negative", "evpi", *PER_PROJECT_EXTRA):
        f.create_variable(
            key,
            ("project",),
            data=np.array([np.nan if r.get(key) is None else r[key] for r in done], float),
        )
    f.create_variable(
        "verdict",
        ("project",),
        dtype=h5py.string_dtype(),
        data=np.array([r["verdict"] for r in done], dtype=object),
    )
    if any(r.get("selected") is not None for r in done):
        v = f.create_variable(
            "selected", ("project",), data=np.array([bool(r.get("selected")) for r in done], "i1")
        )
        v.attrs["description"] = "1 if the project is in the selection under the budget"


def _draws(f, done: Sequence[dict[str, Any]], out: Path, common: int) -> tuple[np.ndarray, ...]:
    """Stream each project's per-draw NPV / ROI into ``npv`` / ``roi``; return the portfolio sums."""
    from roicast.batch.worker import NPV_FILE, ROI_FILE

    n_draw = f.dimensions["draw"].size
    chunks = (1, n_draw) if done and n_draw else None
    npv_v = f.create_variable("npv", ("project", "draw"), "f8", chunks=chunks, fillvalue=np.nan)
    npv_v.attrs["description"] = "NPV per draw of the project's recommended option"
    roi_v = f.create_variable("roi", ("project", "draw"), "f8", chunks=chunks, fillvalue=np.nan)
    go_sum, all_sum = np.zeros(common), np.zeros(common)
    for i, r in enumerate(done):
        folder = out / r["folder"]
        npv = np.load(folder / NPV_FILE)
        npv_v[i, : npv.size] = npv
        roi_v[i, : npv.size] = np.load(folder / ROI_FILE)
        all_sum += npv[:common]
        if r.get("verdict") == "go":
            go_sum += npv[:common]
    return go_sum, all_sum


def _portfolio_sums(f, sums: dict[str, np.ndarray], n_draw: int, common: int) -> None:
    """``portfolio_npv_go`` / ``_all`` (NaN past the shared draws) and their P(< 0)."""
    for label, arr in sums.items():
        full = np.full(n_draw, np.nan)
        full[:common] = arr
        v = f.create_variable(f"portfolio_npv_{label}", ("draw",), data=full)
        v.attrs["description"] = (
            "sum of NPV over projects with verdict 'go'"
            if label == "go"
            else "sum of NPV over all finished projects"
        )
        p = float((arr < 0).mean()) if common else math.nan
        f.create_variable(f"prob_portfolio_npv_negative_{label}", (), data=p)
        f.attrs[f"prob_portfolio_npv_negative_{label}"] = p


def write_portfolio_nc(
    ranked: Sequence[dict[str, Any]],
    out: Path,
    path: Path,
    *,
    attrs: dict[str, Any],
) -> tuple[dict[str, Any], np.ndarray]:
    """Stream every finished project's per-draw NPV / ROI into ``path``.

    Variables: ``npv``, ``roi`` ``(project, draw)`` (NaN past a project's own
    draws), ``input_median (project, input)``, per-project ``npv_mean``,
    ``prob_npv_negative``, ``evpi``, ``investment_mean``,
    ``engineer_months_mean``, ``verdict`` (and ``selected`` under a budget);
    the portfolio NPV per draw ``portfolio_npv_go`` (sum over projects whose
    verdict is "go") and ``portfolio_npv_all`` (sum over all finished
    projects), over the draws all projects share (``portfolio_draws``), with
    ``prob_portfolio_npv_negative_go`` / ``_all``.

    Returns
    -------
    stats : dict
        The portfolio NPV distributions (``go`` and ``all``).
    go_sum : ndarray
        Portfolio NPV per draw of the "go" projects (for the figure).
    """
    import h5netcdf
    import h5py

    done = [r for r in ranked if r["status"] in FINISHED]
    n_draw = max((int(r["draws"]) for r in done), default=0)
    common = min((int(r["draws"]) for r in done), default=0)
    inputs = sorted({k for r in done for k in (r.get("inputs_median") or {})})
    s = h5py.string_dtype()
    with atomic_file(path) as tmp, h5netcdf.File(tmp, "w") as f:
        f.dimensions = {"project": len(done), "draw": n_draw, "input": len(inputs)}
        names = np.array([r["name"] for r in done], dtype=object)
        f.create_variable("project", ("project",), dtype=s, data=names)
        f.create_variable("draw", ("draw",), data=np.arange(n_draw, dtype=np.int64))
        f.create_variable("input", ("input",), dtype=s, data=np.array(inputs, dtype=object))
        go_sum, all_sum = _draws(f, done, out, common)
        med = np.array(
            [[_nan((r.get("inputs_median") or {}).get(k)) for k in inputs] for r in done]
        ).reshape(len(done), len(inputs))
        f.create_variable("input_median", ("project", "input"), data=med)
        _per_project(f, done)
        _portfolio_sums(f, {"go": go_sum, "all": all_sum}, n_draw, common)
        n_go = sum(r.get("verdict") == "go" for r in done)
        f.attrs["portfolio_draws"] = common
        f.attrs["projects_go"] = n_go
        f.attrs["roicast_version"] = __version__
        for k, v in attrs.items():
            f.attrs[k] = v
    stats = {
        "draws": common,
        "go": {"projects": n_go, **_dist(go_sum)},
        "all": {"projects": len(done), **_dist(all_sum)},
    }
    return stats, go_sum


def _nan(v: Any) -> float:
    return np.nan if v is None else float(v)


#: Most scatter points labelled with their project's name (the largest |mean NPV| first).
MAX_LABELS = 60
#: Label offsets tried in turn (points): right, left, above, below, and diagonals.
_OFFSETS = ((4, 2), (-4, 2), (0, 6), (0, -9), (4, 7), (-4, 7), (4, -8), (-4, -8))


def _label_points(ax, pts: Sequence[tuple[float, float, str]]) -> int:
    """Name each point in small type where the label overlaps no earlier one; return the count.

    Greedy: points by decreasing |y| (the most valuable first), each label at
    the first of :data:`_OFFSETS` whose box (measured by the renderer) clears
    every placed label and the axes' edge; a point with no free spot stays
    unlabelled.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed: list[Any] = []
    order = sorted(pts, key=lambda p: -abs(p[1]))[:MAX_LABELS]
    for x, y, name in order:
        text = name if len(name) <= 24 else name[:23] + "…"
        for dx, dy in _OFFSETS:
            ann = ax.annotate(
                text,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=6,
                ha="left" if dx >= 0 else "right",
                color="0.2",
            )
            box = ann.get_window_extent(renderer)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(b) for b in placed):
                placed.append(box)
                break
            ann.remove()
    return len(placed)


def _scatter(a, done: Sequence[dict[str, Any]], currency: str) -> None:
    """Mean against P10 NPV per project, coloured by verdict, selected ones ringed, named."""
    for verdict, colour in (("go", "tab:green"), ("no-go", "tab:red")):
        pts = [r for r in done if r["verdict"] == verdict]
        a.scatter(
            [r["npv_p10"] for r in pts],
            [r["npv_mean"] for r in pts],
            s=14,
            alpha=0.7,
            color=colour,
            label=f"{verdict} ({len(pts)})",
        )
    sel = [r for r in done if r.get("selected")]
    if sel:
        a.scatter(
            [r["npv_p10"] for r in sel],
            [r["npv_mean"] for r in sel],
            s=60,
            facecolors="none",
            edgecolors="tab:blue",
            linewidths=1.2,
            label=f"selected ({len(sel)})",
        )
    a.axvline(0, color="0.5", lw=0.8)
    a.axhline(0, color="0.5", lw=0.8)
    a.set_xlabel(f"P10 NPV ({currency}) — downside")
    a.set_ylabel(f"mean NPV ({currency})")
    a.set_title("Projects: expected value against downside")
    a.legend(loc="best", fontsize=8)


def _figure(
    ranked: Sequence[dict[str, Any]], go_sum: np.ndarray, currency: str
) -> tuple[str, int, int]:
    """The inline PNG (scatter and portfolio histogram), how many points carry a name, of how many."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from roicast.report._format import money

    done = [r for r in ranked if r["status"] in FINISHED and r["npv_mean"] is not None]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    fmt = FuncFormatter(lambda x, _: money(x, currency))
    _scatter(a, done, currency)
    a.xaxis.set_major_formatter(fmt)
    a.yaxis.set_major_formatter(fmt)
    if go_sum.size:
        b.hist(go_sum, bins=60, color="tab:blue", alpha=0.8)
        b.axvline(0, color="tab:red", lw=1)
        b.set_title(f"Portfolio NPV of 'go' projects — P(< 0) = {(go_sum < 0).mean():.1%}")
    else:
        b.set_title("Portfolio NPV: no finished projects")
    b.set_xlabel(f"portfolio NPV ({currency})")
    b.set_ylabel("draws")
    b.xaxis.set_major_formatter(fmt)
    fig.tight_layout()
    pts = [(r["npv_p10"], r["npv_mean"], r["name"]) for r in done if r["npv_p10"] is not None]
    labelled = _label_points(a, pts)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    png = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return png, labelled, len(pts)


def write_portfolio_html(
    ranked: Sequence[dict[str, Any]],
    go_sum: np.ndarray,
    path: Path,
    *,
    batch: dict[str, Any],
) -> None:
    """portfolio.html: self-contained ranking with costs, risk columns, diagnoses, the
    selection under a budget (``batch["selection"]``, if any) and one inline figure."""
    import jinja2

    from roicast.report._format import money

    currencies = sorted({r["currency"] for r in ranked if r.get("currency")})
    currency = currencies[0] if len(currencies) == 1 else (currencies[0] if currencies else "USD")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("roicast.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda x: "n/a" if x is None else money(x, currency)
    env.filters["pct"] = lambda x: "n/a" if x is None else f"{x:.0%}"
    env.filters["months"] = lambda x: "> horizon" if x is None else f"{x:.1f}"
    env.filters["num"] = lambda x: "n/a" if x is None else f"{x:,.1f}"
    figure, labelled, n_points = _figure(ranked, go_sum, currency)
    html = env.get_template("portfolio.html.j2").render(
        rows=ranked,
        batch=batch,
        selection=batch.get("selection"),
        flagged=[r for r in ranked if r.get("diagnosis")],
        figure=figure,
        labelled=labelled,
        n_points=n_points,
        currency=currency,
        mixed_currencies=len(currencies) > 1,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )
    with atomic_file(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
