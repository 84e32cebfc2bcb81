"""Figures of a study report (matplotlib ``Figure`` objects, no pyplot).

Each function takes labelled results and returns a :class:`matplotlib.figure.Figure`;
:mod:`roicast.report` saves them as PNG and inlines them in the HTML report.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from roicast.report._format import input_value, money, si
from roicast.report.summary import PURCHASE_TIMELINE_BASIS
from roicast.study import OptionAnalysis, StudyResult, summarize_distribution

__all__ = [
    "fig_cashflow_fan",
    "fig_demand_fan",
    "fig_histogram",
    "fig_npv_options",
    "fig_options",
    "fig_payback",
    "fig_purchase_timeline",
    "fig_rankings",
    "fig_sobol",
    "fig_spend_fan",
    "fig_spider",
    "fig_tornado",
]

_BLUE = "#2f6db5"
_ORANGE = "#d9822b"
_GREY = "#777777"
_RED = "#c0392b"
_GREEN = "#2e8b57"


def _plain(text: str) -> str:
    """Text shown as written: a ``$`` does not start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _money_axis(ax, currency: str, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: money(v, currency))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _new(figsize=(7.5, 4.2)) -> tuple[Figure, Axes]:
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    ax.grid(alpha=0.3)
    return fig, ax


def _fan(ax, x, q: dict[float, np.ndarray], color: str, label: str) -> None:
    ax.fill_between(x, q[0.1], q[0.9], color=color, alpha=0.18, lw=0, label=f"{label} P10–P90")
    ax.fill_between(x, q[0.25], q[0.75], color=color, alpha=0.32, lw=0, label=f"{label} P25–P75")
    ax.plot(x, q[0.5], color=color, lw=2, label=f"{label} median")


def _qdict(da) -> dict[float, np.ndarray]:
    return {float(q): da.sel(quantile=q).values for q in da["quantile"].values}


def fig_demand_fan(result: StudyResult) -> Figure:
    """Demand fan chart with the history (from the forecast stage)."""
    from roicast.forecast import plot_fan

    fig, ax = _new()
    plot_fan(result.forecast, ax=ax)
    ax.set_ylabel(f"{result.spec.demand.unit} per month")
    return fig


def fig_cashflow_fan(result: StudyResult, opt: OptionAnalysis) -> Figure:
    """Cumulative cash-flow fan chart with the payback zone."""
    cur = result.spec.project.currency
    fig, ax = _new()
    t = np.arange(1, result.horizon + 1)
    q = _qdict(opt.monthly["cumulative_cash_flow"])
    _fan(ax, t, q, _BLUE, "cumulative cash flow")
    ax.axhline(0, color="black", lw=1)
    # the same P10 / P90 as the headline: a draw not paid back counts as beyond the horizon
    pb = summarize_distribution(opt.metrics["payback_months"].values)
    if pb["p10"] is not None:
        lo = pb["p10"]
        hi = pb["p90"] if pb["p90"] is not None else float(result.horizon)
        label = (
            f"payback P10–P90 ({lo:.1f}–{hi:.1f} months, all draws)"
            if pb["p90"] is not None
            else f"payback P10 {lo:.1f} months – P90 not within {result.horizon} months"
        )
        ax.axvspan(lo, hi, color=_GREEN, alpha=0.08, label=label)
    commit = result.sample.distributions[opt.name]["pricing.commitment_months"]
    committed = result.sample.distributions[opt.name]["pricing.committed_instances"]
    if committed.median > 0 and 0 < commit.median < result.horizon:
        ax.axvline(
            commit.median, color=_ORANGE, ls="--", lw=1.2,
            label=f"commitment ends (month {commit.median:.3g}, median)",
        )  # fmt: skip
    ax.set_xlabel("month of the study")
    ax.set_ylabel(f"cumulative cash flow ({cur})")
    _money_axis(ax, cur)
    ax.set_title(f"Cumulative cash flow — {opt.name}")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def fig_spend_fan(result: StudyResult, opt: OptionAnalysis) -> Figure:
    """Monthly spend fan charts, baseline vs optimized, and instance-hours."""
    cur = result.spec.project.currency
    fig = Figure(figsize=(10, 4.0), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    t = np.arange(1, result.horizon + 1)
    _fan(ax, t, _qdict(opt.monthly["spend_baseline"]), _GREY, "baseline")
    _fan(ax, t, _qdict(opt.monthly["spend_optimized"]), _BLUE, "optimized")
    ax.set_title("Monthly serving spend")
    ax.set_xlabel("month")
    _money_axis(ax, cur)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    _fan(ax2, t, _qdict(opt.monthly["instance_hours_baseline"]), _GREY, "baseline")
    _fan(ax2, t, _qdict(opt.monthly["instance_hours_optimized"]), _BLUE, "optimized")
    ax2.set_title("Instance-hours per month")
    ax2.set_xlabel("month")
    ax2.set_ylabel("instance-hours")
    ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: si(v)))
    ax2.grid(alpha=0.3)
    return fig


def fig_histogram(
    values: np.ndarray, *, title: str, xlabel: str, currency: str | None = None, pct: bool = False
) -> Figure:
    """Histogram with the S-curve (CDF) on a second axis and P10/P50/P90 marked."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    fig, ax = _new()
    if v.size == 0:
        ax.text(0.5, 0.5, "no finite values", ha="center", transform=ax.transAxes)
        return fig
    lo, hi = np.quantile(v, [0.001, 0.999])
    clipped = np.clip(v, lo, hi)
    ax.hist(clipped, bins=60, color=_BLUE, alpha=0.75)
    ax.set_ylabel("draws")
    ax2 = ax.twinx()
    s = np.sort(clipped)
    ax2.plot(s, np.arange(1, s.size + 1) / s.size, color=_ORANGE, lw=2)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("cumulative probability")
    for q, ls in ((0.1, ":"), (0.5, "--"), (0.9, ":")):
        ax.axvline(np.quantile(v, q), color="black", ls=ls, lw=1)
    ax.axvline(0, color=_RED, lw=1.2)
    if currency:
        _money_axis(ax, currency, "x")
    if pct:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return fig


def fig_payback(result: StudyResult, options: list[OptionAnalysis]) -> Figure:
    """P(paid back by month t) for each option."""
    fig, ax = _new()
    t = np.arange(1, result.horizon + 1)
    for opt in options:
        ax.plot(t, opt.monthly["prob_paid_back"].values, lw=2, label=opt.name)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set_xlabel("month of the study")
    ax.set_ylabel("probability paid back")
    ax.set_title("Payback probability")
    ax.legend(fontsize=8)
    return fig


def fig_tornado(
    opt: OptionAnalysis,
    *,
    output: str = "npv",
    currency: str = "USD",
    top: int = 12,
    demand: np.ndarray | None = None,
    unit: str = "requests",
) -> Figure:
    """Tornado chart of the one-at-a-time swings of ``output``.

    With ``demand`` (the forecast paths, ``(path, month)``) the ``demand`` bar
    is labelled with total volumes over the horizon in ``unit``
    (:func:`roicast.report.review.demand_volume`) instead of path ranks.
    """
    df = opt.tornado[output].head(top).iloc[::-1]
    fig, ax = _new((7.5, 0.45 * max(len(df), 3) + 1.2))
    if df.empty:
        ax.text(0.5, 0.5, "no uncertain inputs", ha="center", transform=ax.transAxes)
        return fig
    base = float(df["base"].iloc[0])
    y = np.arange(len(df))
    for yi, (_, r) in zip(y, df.iterrows(), strict=True):
        ax.barh(yi, r["low"] - base, left=base, color=_RED, alpha=0.75)
        ax.barh(yi, r["high"] - base, left=base, color=_GREEN, alpha=0.75)
    ax.axvline(base, color="black", lw=1)
    labels = [
        _plain(_tornado_label(str(name), r, currency, demand, unit)) for name, r in df.iterrows()
    ]
    ax.set_yticks(y, labels, fontsize=7)
    if output in ("npv",):
        _money_axis(ax, currency, "x")
    names = {
        "npv": "mean NPV",
        "roi": "mean ROI",
        "payback_months": "median payback (months, capped at horizon)",
    }
    ax.set_xlabel(names.get(output, output))
    centre = money(base, currency) if output == "npv" else f"{base:.3g}"
    ax.set_title(
        _plain(
            f"Tornado — {opt.name}: {names.get(output, output)}, input at P10 (red) / P90 (green)\n"
            f"centre {centre} = every input at its median (not the P50 or mean of the draws)"
        ),
        fontsize=9,
    )
    return fig


def _tornado_label(name: str, r, currency: str, demand: np.ndarray | None, unit: str) -> str:
    """``input\n[low → high]``; demand as total volume over the horizon when paths are given."""
    if name == "demand" and demand is not None:
        from roicast.report.review import demand_volume

        lo, hi = demand_volume(np.array([r["low_value"], r["high_value"]], float), demand)
        return f"demand: total {unit} over {demand.shape[1]} months\n[{si(lo)} → {si(hi)}]"
    return (
        f"{name}\n[{input_value(name, r['low_value'], currency)} → "
        f"{input_value(name, r['high_value'], currency)}]"
    )


def _spider_label(row: dict) -> str:
    """The legend entry of one spider line; demand with its total volumes at the ends."""
    if row["input"] == "demand" and row.get("volumes"):
        v = row["volumes"]
        return f"demand (total {row.get('unit', '')}: {si(v[0])} → {si(v[-1])})"
    return row["input"]


def fig_spider(spider: dict, *, currency: str = "USD") -> Figure:
    """Spider chart: mean NPV against each input's percentile, the others at their medians.

    The demand line's legend shows the total volume over the horizon at the
    first and last percentile (``volumes`` of its row in ``spider``).
    """
    fig, ax = _new((7.5, 4.6))
    pcts = np.array(spider["percentiles"]) * 100
    for row in spider["inputs"]:
        ax.plot(pcts, row["npv"], marker="o", ms=3, lw=1.5, label=_plain(_spider_label(row)))
    ax.axhline(0, color="black", lw=1)
    ax.axvline(50, color=_GREY, lw=0.8, ls=":")
    ax.set_xticks(pcts, [f"P{p:.0f}" for p in pcts])
    ax.set_xlabel("percentile of the input (others at their medians)")
    ax.set_ylabel(f"mean NPV ({currency})")
    _money_axis(ax, currency)
    ax.set_title(f"Spider chart — {spider['option']}")
    ax.legend(fontsize=7, loc="best")
    return fig


def fig_npv_options(result: StudyResult) -> Figure:
    """NPV S-curves (cumulative distributions) of every option on one axis, P10/P50/P90 marked."""
    cur = result.spec.project.currency
    fig, ax = _new()
    for name, opt in result.options.items():
        v = np.sort(opt.metrics["npv"].values)
        (line,) = ax.plot(v, np.arange(1, v.size + 1) / v.size, lw=2, label=name)
        q = np.quantile(v, [0.1, 0.5, 0.9])
        ax.plot(q, [0.1, 0.5, 0.9], "o", color=line.get_color(), ms=4)
    ax.axvline(0, color=_RED, lw=1.2)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set_ylabel("P(NPV ≤ x)")
    ax.set_xlabel(f"NPV ({cur})")
    _money_axis(ax, cur, "x")
    ax.set_title("NPV of every option (dots: P10 / P50 / P90)")
    ax.legend(fontsize=8)
    return fig


def fig_options(result: StudyResult) -> Figure:
    """Option comparison: mean NPV against downside (P10 NPV), Pareto frontier marked."""
    cur = result.spec.project.currency
    fig, ax = _new()
    pts = []
    for name, opt in result.options.items():
        npv = opt.metrics["npv"].values
        pts.append((name, float(np.quantile(npv, 0.1)), float(npv.mean())))
    for name, p10, mean in pts:
        dominated = any(o[1] >= p10 and o[2] >= mean and (o[1] > p10 or o[2] > mean) for o in pts)
        ax.scatter(p10, mean, s=80, color=_GREY if dominated else _BLUE, zorder=3)
        ax.annotate(name, (p10, mean), textcoords="offset points", xytext=(6, 6), fontsize=9)
    front = sorted(
        [
            p
            for p in pts
            if not any(o[1] >= p[1] and o[2] >= p[2] and (o[1] > p[1] or o[2] > p[2]) for o in pts)
        ],
        key=lambda p: p[1],
    )
    if len(front) > 1:
        ax.plot(
            [p[1] for p in front],
            [p[2] for p in front],
            color=_BLUE,
            lw=1,
            ls="--",
            label="Pareto frontier",
        )
        ax.legend(fontsize=8)
    _money_axis(ax, cur)
    _money_axis(ax, cur, "x")
    ax.set_xlabel("downside: P10 NPV")
    ax.set_ylabel("expected (mean) NPV")
    ax.set_title("Options: expected NPV against downside")
    return fig


def fig_rankings(opt: OptionAnalysis, *, currency: str = "USD", top: int = 12) -> Figure:
    """Rankings from the Monte Carlo run side by side: Spearman ρ, contribution to variance, binned swing."""
    rk = opt.rankings
    rk = rk.reindex(rk["spearman"].abs().sort_values(ascending=False).index).head(top).iloc[::-1]
    fig = Figure(figsize=(11, 0.42 * max(len(rk), 3) + 1.3), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    y = np.arange(len(rk))
    colors = [_ORANGE if flag else _BLUE for flag in rk["nonmonotonic"]]
    axes[0].barh(y, rk["spearman"], color=colors)
    axes[0].set_title("Spearman rank correlation with NPV", fontsize=9)
    axes[0].set_yticks(y, rk.index, fontsize=7)
    axes[1].barh(y, rk["contribution"], color=colors)
    axes[1].set_title("contribution to variance (ρ²/Σρ², signed)", fontsize=9)
    axes[1].xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0%}"))
    axes[2].barh(y, rk["high"] - rk["low"], left=rk["low"], color=colors)
    axes[2].set_title("mean NPV by input decile: lowest → highest bin", fontsize=9)
    _money_axis(axes[2], currency, "x")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.axvline(0, color="black", lw=0.8)
    if any(rk["nonmonotonic"]):
        fig.suptitle(
            "orange: non-monotonic effect (large binned swing, small rank correlation)", fontsize=8
        )
    return fig


def fig_sobol(opt: OptionAnalysis, *, top: int = 14) -> Figure:
    """Sobol first-order and total indices of NPV with their bootstrap intervals."""
    sob = opt.sobol
    df = sob.to_dataframe()
    df = df.sort_values("ST", ascending=False).head(top).iloc[::-1]
    fig, ax = _new((7.5, 0.42 * max(len(df), 3) + 1.2))
    y = np.arange(len(df))
    cols = {c.lower(): c for c in df.columns}
    s1, st = df[cols["s1"]], df[cols["st"]]
    ax.barh(y + 0.2, st, height=0.4, color=_BLUE, label="total (ST)")
    ax.barh(y - 0.2, s1, height=0.4, color=_ORANGE, label="first order (S1)")
    for lo_col, hi_col, off, series in (
        ("st_low", "st_high", 0.2, st),
        ("s1_low", "s1_high", -0.2, s1),
    ):
        if lo_col in cols and hi_col in cols:
            lo, hi = df[cols[lo_col]], df[cols[hi_col]]
            ax.errorbar(
                series,
                y + off,
                xerr=[np.maximum(0, series - lo), np.maximum(0, hi - series)],
                fmt="none",
                ecolor="black",
                lw=0.8,
            )
    ax.set_yticks(y, df.index, fontsize=7)
    ax.set_xlabel("share of the variance of NPV")
    ax.set_title(
        f"Sobol indices of NPV\nN = {sob.n}, {sob.n_evals} evaluations, {sob.confidence:.0%} bootstrap intervals",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    return fig


def _si(v: float) -> str:
    """A count with an SI prefix: 1.2k, 3.4M, 5.6B."""
    a = abs(v)
    for scale, prefix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{v / scale:.3g}{prefix}"
    return f"{v:.3g}"


def fig_week(week, *, unit: str = "requests") -> Figure:
    """The typical week: load against baseline and optimized instances by hour, committed line."""
    fig, ax = _new((8.5, 4.2))
    hours = np.arange(week.load.size)
    ax2 = ax.twinx()
    ax2.fill_between(hours, week.load, color=_GREY, alpha=0.18, step="mid", label="load")
    ax2.set_ylabel(f"load ({unit} per hour)")
    ax.step(hours, week.baseline, where="mid", color=_GREY, lw=1.8, label="baseline instances")
    ax.step(hours, week.optimized, where="mid", color=_BLUE, lw=1.8, label="optimized instances")
    if week.committed > 0:
        ax.axhline(week.committed, color=_ORANGE, ls="--", lw=1.2, label="committed instances")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_xlabel("hour of the week" if week.load.size == 168 else "hour")
    ax.set_ylabel("instances")
    ax.set_ylim(bottom=0)
    if week.load.size == 168:
        ax.set_xticks(np.arange(0, 169, 24))
    ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _si(v)))
    ax.set_title(
        f"Typical week, month {week.month}: {week.policy} provisioning, "
        f"peak-to-mean {week.peak_to_mean:.2f}\n(every input at its median)",
        fontsize=10,
    )
    ax.legend(loc="upper left", fontsize=8)
    return fig


def _owned_panel(
    ax, result: StudyResult, opt: OptionAnalysis, fleets: list[str], top: float, ref=None
) -> None:
    """One option's panel: owned-instance fans, mean orders as bars, first order → arrival.

    ``top``: the owned axis' upper end (shared by the panels); ``ref``: another
    option whose median owned instances are drawn dashed for comparison.
    """
    t = np.arange(1, result.horizon + 1)
    mo = opt.monthly
    bars = ax.twinx()
    colors = {"baseline": _GREY, "optimized": _BLUE}
    lead = float(np.ceil(result.sample.distributions[opt.name]["onprem.lead_time_months"].median))
    if ref is not None:
        ax.step(
            t, ref.monthly["owned_instances_optimized"].sel(quantile=0.5).values, where="mid",
            color=_GREY, lw=1.5, ls="--", label=_plain(f"{ref.name}: owned, median"),
        )  # fmt: skip
    width = 0.8 / len(fleets)
    for k, fleet in enumerate(fleets):
        c = colors[fleet]
        label = "baseline" if fleet == "baseline" else opt.name
        q = _qdict(mo[f"owned_instances_{fleet}"])
        ax.fill_between(t, q[0.1], q[0.9], color=c, alpha=0.2, lw=0, step="mid")
        ax.step(t, q[0.5], where="mid", color=c, lw=2, label=_plain(f"{label}: owned, median"))
        mean = mo[f"mean_purchased_instances_{fleet}"].values
        off = (k - (len(fleets) - 1) / 2) * width
        bars.bar(t + off, mean, width=width, color=c, alpha=0.45, label=_plain(f"{label}: ordered"))
        first = opt.metrics[f"first_purchase_month_{fleet}"].values
        first = first[np.isfinite(first)]
        if first.size:
            f50 = float(np.median(first))
            y = (0.72 - 0.12 * k) * top
            ax.annotate(
                "", xy=(f50 + lead, y), xytext=(f50, y),
                arrowprops={"arrowstyle": "->", "color": c, "lw": 1.5},
            )  # fmt: skip
            ax.text(f50, y, _plain(f"{label}: first order, month {f50:.0f} → in service "
                    f"{lead:.0f} months later"), color=c, fontsize=7, va="bottom")  # fmt: skip
    ax.set_ylim(0, top * 1.3)  # room for the legend
    bars.set_ylim(0, max(1.0, bars.get_ylim()[1]) * 3)  # bars in the lower third
    bars.set_ylabel("instances ordered (mean)", fontsize=8)
    ax.set_ylabel("instances owned")
    ax.set_xlabel("month of the study")
    ax.set_zorder(bars.get_zorder() + 1)
    ax.patch.set_visible(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = bars.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=7, ncols=2)
    ax.set_title(_plain(f"Purchase timeline — {opt.name}"), fontsize=10)


def fig_purchase_timeline(
    result: StudyResult, options: list[OptionAnalysis], *, baseline_owned: bool
) -> Figure:
    """Owned instances and purchases of the baseline and optimized fleets, by month.

    One panel per option with an owned fleet: the instances owned (median and
    P10–P90 band per month, baseline grey, option blue), the mean instances
    ordered each month (bars), and an arrow from the median first order month
    to its arrival after the median lead time ``⌈lead_time_months⌉`` (owned
    count :math:`O_t` rises when a lot ordered in month :math:`t - L` arrives).
    With a rented baseline and several options, the first option's median
    owned instances is drawn dashed in the other panels (the reference of
    ``summary.json``'s ``onprem.between_options``); the owned axis is shared.
    The basis is :data:`PURCHASE_TIMELINE_BASIS`.  Needs the study's monthly
    ``mean_purchased_instances_*`` (kept for studies with ``[onprem]``).

    Parameters
    ----------
    result : StudyResult
    options : list of OptionAnalysis
        The options to draw, one panel each.
    baseline_owned : bool
        Whether the baseline fleet is owned (``baseline_platform = "onprem"``);
        a rented baseline owns nothing and is not drawn.
    """
    fleets = ["baseline", "optimized"] if baseline_owned else ["optimized"]
    fig = Figure(figsize=(9, 3.6 * len(options) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(options), 1, squeeze=False)[:, 0])
    top = max(
        1.0,
        *(
            float(o.monthly[f"owned_instances_{f}"].sel(quantile=0.9).max())
            for o in options
            for f in fleets
        ),
    )
    # a rented baseline owns nothing: the first owned option is the others' reference
    ref = options[0] if not baseline_owned and len(options) > 1 else None
    for ax, opt in zip(axes, options, strict=True):
        ax.grid(alpha=0.3)
        _owned_panel(ax, result, opt, fleets, top, ref if opt is not ref else None)
    note = "" if baseline_owned else "the baseline rents (cloud) and owns nothing. "
    fig.suptitle(
        _plain("Owned instances and purchases by month: " + note + "\n" + _wrap(
            PURCHASE_TIMELINE_BASIS, 130)), fontsize=7, ha="left", x=0.01,
    )  # fmt: skip
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
