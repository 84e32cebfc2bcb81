"""Write a study's outputs: summary.json, results.nc, report.md + PNGs, report.html.

Everything is written into a temporary folder beside the destination and moved
into place at the end, so a crash never leaves a half-written report: the
folder holds either the previous complete output or the new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import xarray as xr

from roicast import __version__, figures
from roicast.errors import RoicastError
from roicast.simulate import INPUT_NAMES
from roicast.study import StudyResult
from roicast.summary import summary as make_summary

__all__ = ["atomic_dir", "results_dataset", "write_json", "write_report"]

_MARKER = "summary.json"


def _clean(o: Any) -> Any:
    """JSON-safe: non-finite floats become null, numpy scalars become Python."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def write_json(doc: Any, path: Path) -> None:
    path.write_text(
        json.dumps(_clean(doc), indent=2, sort_keys=False, allow_nan=False) + "\n", encoding="utf-8"
    )


@contextmanager
def atomic_dir(out: Path | str, *, marker: str = _MARKER) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out`` whole.

    ``out`` may not exist, be empty, or hold a previous roicast output
    (recognised by ``marker``); anything else is refused rather than deleted.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / marker).exists())):
        raise RoicastError(
            f"--out: {str(out)!r} exists and is not a roicast output folder; choose another folder or empty it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; the output is an ordinary folder
    try:
        yield tmp
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def results_dataset(result: StudyResult) -> xr.Dataset:
    """All results as one Dataset: dims ``option``, ``draw``, ``input``, ``month``, ``quantile``."""
    opts = list(result.options)
    ds = xr.Dataset()
    ds["inputs"] = result.sample.values.astype("float64")
    first = result.options[opts[0]]
    for var in first.metrics.data_vars:
        ds[var] = xr.concat(
            [result.options[o].metrics[var] for o in opts], dim="option"
        ).assign_coords(option=opts)
    for var in first.monthly.data_vars:
        ds[f"monthly_{var}"] = xr.concat(
            [result.options[o].monthly[var] for o in opts], dim="option"
        ).assign_coords(option=opts)
    paths = result.forecast.paths
    ds["demand_quantiles"] = paths.quantile(
        list(first.monthly["quantile"].values), dim="path"
    ).rename(quantile="quantile")
    # tornado: (option, output, input, end)
    outputs = list(first.tornado)
    tor = np.full((len(opts), len(outputs), len(INPUT_NAMES), 2), np.nan)
    for i, o in enumerate(opts):
        for j, out in enumerate(outputs):
            df = result.options[o].tornado[out]
            for name, r in df.iterrows():
                tor[i, j, INPUT_NAMES.index(name)] = (r["low"], r["high"])
    ds["tornado"] = xr.DataArray(
        tor,
        dims=("option", "output", "input", "end"),
        coords={
            "option": opts,
            "output": outputs,
            "input": list(INPUT_NAMES),
            "end": ["low", "high"],
        },
        attrs={"description": "output at the input's low / high quantile, others at median"},
    )
    _add_sensitivity(ds, result, opts)
    ds["month"] = ds["month"].astype(str)
    ds.attrs.update(
        {
            "project": result.spec.project.name,
            "seed": result.seed,
            "draws": result.draws,
            "horizon_months": result.horizon,
            "currency": result.spec.project.currency,
            "unit": result.spec.demand.unit,
            "spec_hash": result.spec.spec_hash,
            "roicast_version": __version__,
        }
    )
    return ds


def _add_sensitivity(ds: xr.Dataset, result: StudyResult, opts: list[str]) -> None:
    """Sensitivity results as (option, input) variables; Sobol over (option, sobol_input)."""
    names = list(INPUT_NAMES)

    def per_input(getter) -> np.ndarray:
        a = np.full((len(opts), len(names)), np.nan)
        for i, o in enumerate(opts):
            for name, value in getter(result.options[o].extras).items():
                if name in names and value is not None:
                    a[i, names.index(name)] = value
        return a

    first = result.options[opts[0]].extras
    specs = {
        "spearman": ("rankings", lambda e: e["rankings"]["spearman"].to_dict()),
        "contribution_to_variance": ("rankings", lambda e: e["rankings"]["contribution"].to_dict()),
        "binned_mean_low": ("rankings", lambda e: e["rankings"]["low"].to_dict()),
        "binned_mean_high": ("rankings", lambda e: e["rankings"]["high"].to_dict()),
        "evppi": ("evppi", lambda e: e["evppi"].to_dict()),
        "break_even_value": (
            "break_even",
            lambda e: {b["input"]: b["value"] for b in e["break_even"].to_dict()["inputs"]},
        ),
    }
    for var, (key, getter) in specs.items():
        if all(key in result.options[o].extras for o in opts):
            ds[var] = (("option", "input"), per_input(getter))
    if all("evpi" in result.options[o].extras for o in opts):
        ds["evpi"] = ("option", [float(result.options[o].extras["evpi"]) for o in opts])
    if "sobol" in first and all("sobol" in result.options[o].extras for o in opts):
        frames = [result.options[o].extras["sobol"].to_dataframe() for o in opts]
        sobol_names = list(dict.fromkeys(n for f in frames for n in f.index))
        for col in ("S1", "ST"):
            a = np.full((len(opts), len(sobol_names)), np.nan)
            for i, f in enumerate(frames):
                for n, v in f[col].items():
                    a[i, sobol_names.index(n)] = v
            ds[f"sobol_{col}"] = xr.DataArray(
                a,
                dims=("option", "sobol_input"),
                coords={"option": opts, "sobol_input": sobol_names},
            )


def _save(fig, path: Path) -> str:
    fig.savefig(path, dpi=110)
    return path.name


def _figures(result: StudyResult, folder: Path, best: str) -> dict[str, str]:
    folder.mkdir()
    cur = result.spec.project.currency
    opt = result.options[best]
    figs: dict[str, str] = {}
    figs["demand"] = _save(figures.fig_demand_fan(result), folder / "demand_fan.png")
    figs["cashflow"] = _save(figures.fig_cashflow_fan(result, opt), folder / "cashflow_fan.png")
    figs["spend"] = _save(figures.fig_spend_fan(result, opt), folder / "spend_fan.png")
    figs["npv"] = _save(
        figures.fig_histogram(
            opt.metrics["npv"].values, title=f"NPV — {best}", xlabel=f"NPV ({cur})", currency=cur
        ),
        folder / "npv_hist.png",
    )
    figs["roi"] = _save(
        figures.fig_histogram(
            opt.metrics["roi"].values, title=f"ROI — {best}", xlabel="ROI", pct=True
        ),
        folder / "roi_hist.png",
    )
    figs["payback"] = _save(
        figures.fig_payback(result, list(result.options.values())), folder / "payback.png"
    )
    figs["tornado"] = _save(
        figures.fig_tornado(opt, output="npv", currency=cur), folder / "tornado_npv.png"
    )
    if "rankings" in opt.extras:
        figs["rankings"] = _save(figures.fig_rankings(opt, currency=cur), folder / "rankings.png")
    if "sobol" in opt.extras:
        figs["sobol"] = _save(figures.fig_sobol(opt), folder / "sobol.png")
    if len(result.options) > 1:
        figs["options"] = _save(figures.fig_options(result), folder / "options.png")
    return figs


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("roicast", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _fmt_money(x, cur="USD"):
    return "n/a" if x is None else figures.money(x, cur)


def _fmt_pct(x):
    return "n/a" if x is None else f"{x:.0%}"


def _fmt_months(x):
    return "not within horizon" if x is None else f"{x:.1f}"


_ENV.filters.update({"money": _fmt_money, "pct": _fmt_pct, "months": _fmt_months})


def _backtest_rows(bt) -> dict[str, Any] | None:
    if bt is None:
        return None
    cols = {
        "n_points": "points",
        "coverage_80": "80 % coverage",
        "coverage_95": "95 % coverage",
        "crps_ratio": "CRPS vs seasonal naive",
        "msis_ratio": "MSIS vs seasonal naive",
    }
    rows = [[str(idx), *(f"{r[c]:.3g}" for c in cols if c in r)] for idx, r in bt.table.iterrows()]
    return {"columns": ["horizon", *cols.values()], "rows": rows}


def _context(result: StudyResult, doc: dict[str, Any], figs: dict[str, str]) -> dict[str, Any]:
    best = doc["option"]
    dists = result.sample.distributions[best]
    sources = result.spec.sources
    ties = result.sample.ties[best]
    assumptions = [
        {
            "input": name,
            "distribution": d.describe()
            if name != "demand"
            else "forecast paths, ranked by total volume",
            "median": d.median,
            "uncertain": not d.is_fixed,
            "source": sources.get(
                name, f"same value as {ties[name]} in every draw" if name in ties else ""
            ),
        }
        for name, d in dists.items()
    ]
    return {
        "doc": doc,
        "cur": result.spec.project.currency,
        "figs": figs,
        "assumptions": assumptions,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "options": doc.get("options", []),
        "timings": result.timings,
        "backtest": _backtest_rows(result.backtest),
    }


def write_report(result: StudyResult, out: Path | str, *, report: bool = True) -> dict[str, Any]:
    """Write every output of a study into ``out`` atomically; returns the summary.

    Files: ``summary.json``, ``results.nc``, and with ``report``:
    ``report.md``, ``report.html`` (self-contained) and ``figures/*.png``.
    """
    if "cumulative_cash_flow" not in next(iter(result.options.values())).monthly:
        raise RoicastError(
            "write_report: the study was run with monthly=False; rerun it with monthly=True"
        )
    doc = make_summary(result)
    with atomic_dir(out) as tmp:
        write_json(doc, tmp / "summary.json")
        results_dataset(result).to_netcdf(tmp / "results.nc", engine="h5netcdf")
        if report:
            figs = _figures(result, tmp / "figures", doc["option"])
            ctx = _context(result, doc, {k: f"figures/{v}" for k, v in figs.items()})
            (tmp / "report.md").write_text(
                _ENV.get_template("report.md.j2").render(**ctx), encoding="utf-8"
            )
            inline = {
                k: "data:image/png;base64,"
                + base64.b64encode((tmp / "figures" / v).read_bytes()).decode()
                for k, v in figs.items()
            }
            ctx["figs"] = inline
            (tmp / "report.html").write_text(
                _ENV.get_template("report.html.j2").render(**ctx), encoding="utf-8"
            )
    return doc
