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

__all__ = ["CSV_COLUMNS", "rank_records", "write_portfolio_csv", "write_portfolio_nc"]

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
)
FINISHED = ("done", "skipped")


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
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(v)
    return str(v)


def write_portfolio_csv(ranked: Sequence[dict[str, Any]], path: Path) -> None:
    """portfolio.csv: one row per project (columns :data:`CSV_COLUMNS`)."""
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
    ``prob_npv_negative``, ``evpi``, ``verdict``; the portfolio NPV per draw
    ``portfolio_npv_go`` (sum over projects whose verdict is "go") and
    ``portfolio_npv_all`` (sum over all finished projects), over the draws all
    projects share (``portfolio_draws``), with ``prob_portfolio_npv_negative_go``
    / ``_all``.

    Returns
    -------
    stats : dict
        The portfolio NPV distributions (``go`` and ``all``).
    go_sum : ndarray
        Portfolio NPV per draw of the "go" projects (for the figure).
    """
    import h5netcdf
    import h5py

    from roicast.batch.worker import NPV_FILE, ROI_FILE

    done = [r for r in ranked if r["status"] in FINISHED]
    n_proj = len(done)
    n_draw = max((int(r["draws"]) for r in done), default=0)
    common = min((int(r["draws"]) for r in done), default=0)
    inputs = sorted({k for r in done for k in (r.get("inputs_median") or {})})
    go_sum = np.zeros(common)
    all_sum = np.zeros(common)
    n_go = 0
    s = h5py.string_dtype()
    with atomic_file(path) as tmp:
        with h5netcdf.File(tmp, "w") as f:
            f.dimensions = {"project": n_proj, "draw": n_draw, "input": len(inputs)}
            f.create_variable(
                "project",
                ("project",),
                dtype=s,
                data=np.array([r["name"] for r in done], dtype=object),
            )
            f.create_variable("draw", ("draw",), data=np.arange(n_draw, dtype=np.int64))
            f.create_variable("input", ("input",), dtype=s, data=np.array(inputs, dtype=object))
            chunks = (1, n_draw) if n_proj and n_draw else None
            npv_v = f.create_variable(
                "npv", ("project", "draw"), dtype="f8", chunks=chunks, fillvalue=np.nan
            )
            npv_v.attrs["description"] = "NPV per draw of the project's recommended option"
            roi_v = f.create_variable(
                "roi", ("project", "draw"), dtype="f8", chunks=chunks, fillvalue=np.nan
            )
            med = np.full((n_proj, len(inputs)), np.nan)
            for i, r in enumerate(done):
                folder = out / r["folder"]
                npv = np.load(folder / NPV_FILE)
                npv_v[i, : npv.size] = npv
                roi_v[i, : npv.size] = np.load(folder / ROI_FILE)
                all_sum += npv[:common]
                if r.get("verdict") == "go":
                    go_sum += npv[:common]
                    n_go += 1
                for j, k in enumerate(inputs):
                    v = (r.get("inputs_median") or {}).get(k)
                    med[i, j] = np.nan if v is None else v
            f.create_variable("input_median", ("project", "input"), data=med)
            for key in ("npv_mean", "prob_npv_negative", "evpi"):
                f.create_variable(
                    key,
                    ("project",),
                    data=np.array([np.nan if r[key] is None else r[key] for r in done], float),
                )
            f.create_variable(
                "verdict",
                ("project",),
                dtype=s,
                data=np.array([r["verdict"] for r in done], dtype=object),
            )
            for label, arr in (("go", go_sum), ("all", all_sum)):
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
            f.attrs["portfolio_draws"] = common
            f.attrs["projects_go"] = n_go
            f.attrs["roicast_version"] = __version__
            for k, v in attrs.items():
                f.attrs[k] = v
    stats = {
        "draws": common,
        "go": {"projects": n_go, **_dist(go_sum)},
        "all": {"projects": n_proj, **_dist(all_sum)},
    }
    return stats, go_sum


def _figure(ranked: Sequence[dict[str, Any]], go_sum: np.ndarray, currency: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from roicast.report._format import money

    done = [r for r in ranked if r["status"] in FINISHED and r["npv_mean"] is not None]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    fmt = FuncFormatter(lambda x, _: money(x, currency))
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
    a.axvline(0, color="0.5", lw=0.8)
    a.axhline(0, color="0.5", lw=0.8)
    a.set_xlabel(f"P10 NPV ({currency}) — downside")
    a.set_ylabel(f"mean NPV ({currency})")
    a.set_title("Projects: expected value against downside")
    a.xaxis.set_major_formatter(fmt)
    a.yaxis.set_major_formatter(fmt)
    a.legend(loc="best", fontsize=8)
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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def write_portfolio_html(
    ranked: Sequence[dict[str, Any]],
    go_sum: np.ndarray,
    path: Path,
    *,
    batch: dict[str, Any],
) -> None:
    """portfolio.html: self-contained ranking with risk columns and one inline figure."""
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
    html = env.get_template("portfolio.html.j2").render(
        rows=ranked,
        batch=batch,
        figure=_figure(ranked, go_sum, currency),
        currency=currency,
        mixed_currencies=len(currencies) > 1,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )
    with atomic_file(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
