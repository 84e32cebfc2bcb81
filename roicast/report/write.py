"""Write a study's outputs: summary.json, results.nc, report.md + PNGs, report.html.

Everything is written into a temporary folder beside the destination and moved
into place at the end, so a crash never leaves a half-written report: the
folder holds either the previous complete output or the new one.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import xarray as xr
from markupsafe import Markup

from roicast import __version__
from roicast.errors import RoicastError
from roicast.forecast.io import write_netcdf
from roicast.report._format import (
    input_value,
    irr_text,
    markdown_text,
    money,
    months,
    pct,
    roi_text,
    si,
    sig,
)
from roicast.report._io import atomic_dir, write_json
from roicast.report.summary import summary as make_summary
from roicast.simulate import INPUT_NAMES
from roicast.study import StudyResult

__all__ = ["results_dataset", "write_report"]


def results_dataset(result: StudyResult) -> xr.Dataset:
    """All results as one Dataset: dims ``option``, ``draw``, ``input``, ``month``, ``quantile``."""
    opts = list(result.options)
    # the variables are gathered first and merged once: a Dataset built one
    # variable at a time re-aligns everything it holds at every step
    items: dict[str, Any] = {"inputs": result.sample.values.astype("float64")}
    first = result.options[opts[0]]
    for var in first.metrics.data_vars:
        items[var] = xr.concat(
            [result.options[o].metrics[var] for o in opts], dim="option"
        ).assign_coords(option=opts)
    for var in first.monthly.data_vars:
        items[f"monthly_{var}"] = xr.concat(
            [result.options[o].monthly[var] for o in opts], dim="option"
        ).assign_coords(option=opts)
    paths = result.forecast.paths
    items["demand_quantiles"] = paths.quantile(
        list(first.monthly["quantile"].values), dim="path"
    ).rename(quantile="quantile")
    ds = xr.Dataset(items)
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
            for name, value in getter(result.options[o]).items():
                if name in names and value is not None:
                    a[i, names.index(name)] = value
        return a

    specs = {
        "spearman": ("rankings", lambda e: e.rankings["spearman"].to_dict()),
        "contribution_to_variance": ("rankings", lambda e: e.rankings["contribution"].to_dict()),
        "binned_mean_low": ("rankings", lambda e: e.rankings["low"].to_dict()),
        "binned_mean_high": ("rankings", lambda e: e.rankings["high"].to_dict()),
        "evppi": ("evppi", lambda e: e.evppi.to_dict()),
        "break_even_value": (
            "break_even",
            lambda e: {b["input"]: b["value"] for b in e.break_even.to_dict()["inputs"]},
        ),
    }

    def everywhere(attr: str) -> bool:
        return all(getattr(result.options[o], attr) is not None for o in opts)

    for var, (attr, getter) in specs.items():
        if everywhere(attr):
            ds[var] = (("option", "input"), per_input(getter))
    if everywhere("evpi"):
        ds["evpi"] = ("option", [float(result.options[o].evpi) for o in opts])
    if everywhere("sobol"):
        frames = [result.options[o].sobol.to_dataframe() for o in opts]
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
    import warnings

    with warnings.catch_warnings():
        # very long option or input names can leave constrained layout no room: the figure is
        # still drawn (labels overlap), which beats a warning on the user's terminal
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        fig.savefig(path, dpi=110)
    return path.name


def _figures(
    result: StudyResult, folder: Path, best: str, doc: dict[str, Any] | None = None
) -> dict[str, str]:
    from roicast.report import figures  # matplotlib: only when a report is written

    folder.mkdir()
    cur = result.spec.project.currency
    opt = result.options[best]
    figs: dict[str, str] = {}
    figs["demand"] = _save(figures.fig_demand_fan(result), folder / "demand_fan.png")
    figs["cashflow"] = _save(figures.fig_cashflow_fan(result, opt), folder / "cashflow_fan.png")
    figs["spend"] = _save(figures.fig_spend_fan(result, opt), folder / "spend_fan.png")
    week = _typical_week(result, best)
    if week is not None:
        figs["week"] = _save(
            figures.fig_week(week, unit=result.spec.demand.unit), folder / "week.png"
        )
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
    vol = {"demand": result.demand_sorted, "unit": result.spec.demand.unit}  # demand in volumes
    figs["tornado"] = _save(
        figures.fig_tornado(opt, output="npv", currency=cur, **vol), folder / "tornado_npv.png"
    )
    if opt.rankings is not None:
        figs["rankings"] = _save(figures.fig_rankings(opt, currency=cur), folder / "rankings.png")
    if opt.sobol is not None:
        figs["sobol"] = _save(figures.fig_sobol(opt), folder / "sobol.png")
    if len(result.options) > 1:
        figs["options"] = _save(figures.fig_options(result), folder / "options.png")
        figs["npv_options"] = _save(figures.fig_npv_options(result), folder / "npv_options.png")
        for i, (name, other) in enumerate(result.options.items()):
            if name != best:
                figs[f"tornado_{name}"] = _save(
                    figures.fig_tornado(other, output="npv", currency=cur, **vol),
                    folder / f"tornado_npv_option{i}.png",
                )
    if doc is not None and doc.get("onprem"):
        figs["purchases"] = _save(_purchase_figure(result, doc["onprem"]), folder / "purchases.png")
    if doc is not None and doc.get("spider", {}).get("inputs"):
        figs["spider"] = _save(
            figures.fig_spider(doc["spider"], currency=cur), folder / "spider.png"
        )
    return figs


def _purchase_figure(result: StudyResult, onprem: dict[str, Any]):
    """The purchase timeline of every option with an owned fleet (as operated)."""
    from roicast.report import figures

    owned = onprem["baseline_platform"] == "onprem"
    names = [n for n, o in onprem["options"].items() if owned or o["platform"] == "onprem"]
    return figures.fig_purchase_timeline(
        result, [result.options[n] for n in names], baseline_owned=owned
    )


def _typical_week(result: StudyResult, option: str):
    """The fleet's typical week for the figure, or ``None`` without an intra-week profile."""
    from roicast.fleet import typical_week
    from roicast.sampling import base_point

    profiles = result.profiles
    if profiles is None or profiles.rows.shape[1] == 1:
        return None
    month = min(result.horizon, 12)
    d50 = float(np.median(result.demand_sorted[:, month - 1]))
    point = base_point(result.sample.distributions[option])
    return typical_week(result.spec, profiles, point, d50, month)


def _environment(**kwargs: Any) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("roicast.report", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **kwargs,
    )
    env.filters.update(
        {
            "money": money,
            "pct": pct,
            "months": months,
            "si": si,
            "sig": sig,
            "irr": irr_text,
            "value": lambda x, name, cur="USD": input_value(name, x, cur),
        }
    )
    return env


# HTML: everything is escaped (user-written names, sources, currency, unit…);
# Markdown: every value is neutralised (no raw HTML, links, table pipes or line breaks)
_HTML = _environment(autoescape=True)
_MD = _environment(autoescape=False, finalize=markdown_text)


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
    return {"columns": ["horizon (months ahead)", *cols.values()], "rows": rows}


def _assumptions(result: StudyResult, option: str) -> list[dict[str, Any]]:
    """The inputs of one option with their sources (the option's own override ``[sources]``)."""
    opt = next(o for o in result.spec.options if o.name == option)
    sources = {**result.spec.sources, **opt.sources}
    ties = result.sample.ties[option]
    cur = result.spec.project.currency
    rows = [
        {
            "input": name,
            "distribution": d.describe()
            if name != "demand"
            else "forecast paths, ranked by total volume",
            "median": d.median,
            "median_text": input_value(name, d.median, cur),
            "uncertain": not d.is_fixed,
            "source": sources.get(
                name, f"same value as {ties[name]} in every draw" if name in ties else ""
            ),
        }
        for name, d in result.sample.distributions[option].items()
    ]
    prof = result.profiles
    if prof is not None:
        rows.insert(
            1,
            {
                "input": "fleet.provisioning",
                "distribution": f"{result.spec.fleet.provisioning}; load profile: {prof.source}",
                "median": float("nan"),
                "median_text": f"peak-to-mean {prof.peak_to_mean:.2f}",
                "uncertain": False,
                "source": "; ".join(prof.warnings),
            },
        )
    return rows


def _context(result: StudyResult, doc: dict[str, Any], figs: dict[str, str]) -> dict[str, Any]:
    best = doc["option"]
    top = result.options[best].metrics
    inv = float(np.median(top["investment"].values))
    gain = float(np.median(top["gain"].values))
    return {
        "doc": doc,
        "cur": result.spec.project.currency,
        "figs": figs,
        "assumptions": _assumptions(result, best),
        "option_assumptions": {
            name: _assumptions(result, name) for name in result.options if name != best
        },
        "roi_note": roi_text(doc["roi"]["p50"], inv, gain),
        "irr_p50": irr_text(doc["details"]["irr"]["p50"]),
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "options": doc.get("options", []),
        "timings": result.timings,
        "backtest": _backtest_rows(result.backtest),
    }


def write_report(
    result: StudyResult, out: Path | str, *, report: bool = True, option: str = "out"
) -> dict[str, Any]:
    """Write every output of a study into ``out`` atomically; returns the summary.

    Files: ``summary.json``, ``results.nc``, and with ``report``:
    ``report.md``, ``report.html`` (self-contained), ``results.xlsx`` and ``figures/*.png``.
    ``out`` must be new, empty or a previous roicast output; ``option`` names
    it in messages.
    """
    if "cumulative_cash_flow" not in next(iter(result.options.values())).monthly:
        raise RoicastError(
            "write_report: the study was run with monthly=False; rerun it with monthly=True"
        )
    doc = make_summary(result)
    with atomic_dir(out, option=option) as tmp:
        write_json(doc, tmp / "summary.json")
        write_netcdf(results_dataset(result), tmp / "results.nc")
        if report:
            figs = _figures(result, tmp / "figures", doc["option"], doc)
            ctx = _context(result, doc, {k: Markup(f"figures/{v}") for k, v in figs.items()})
            (tmp / "report.md").write_text(
                _MD.get_template("report.md.j2").render(**ctx), encoding="utf-8"
            )
            inline = {
                k: "data:image/png;base64,"
                + base64.b64encode((tmp / "figures" / v).read_bytes()).decode()
                for k, v in figs.items()
            }
            ctx["figs"] = inline
            (tmp / "report.html").write_text(
                _HTML.get_template("report.html.j2").render(**ctx), encoding="utf-8"
            )
            from roicast.excel.results import write_results_xlsx

            write_results_xlsx(result, doc, tmp / "results.xlsx")
    return doc
