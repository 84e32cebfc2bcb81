"""Short-history backtest: 18 months of monthly history → 36 months ahead.

Run ``python benchmarks/backtest_short.py [--paths 500] [--quick] [--synthetic 100]
[--only short|synthetic|long|servegen]`` (tens of CPU minutes in all).  Needs
``pmdarima`` for its datasets (the ``bench`` extra).  Times are CPU seconds.

* ``servegen``: ServeGen m-large, 14 days, month-36 P99/P50 with the growth
  prior ``{0.2, 0.6, 1.5}`` against the prior alone (target ≤ 1.5×).
* ``short``: real series airpassengers and wineind (pmdarima), elec_equip, co2
  (weekly → monthly mean) and elnino (statsmodels), windows every 6 months
  (12 with ``--quick``); per series and horizon bucket 1–12, 13–24, 25–36 and
  pooled, the P10–P90 coverage, the CRPS divided by the in-sample
  seasonal-naive MAE, and the median month-36 P99/P50, for

  - ``new``: :func:`roicast.forecast.demand.simulate_history` (the averaged
    ETS+drift with the default growth prior),
  - ``today``: the pre-averaging forecaster (AICc-selected ETS with posterior
    draws: :mod:`roicast.forecast.ets`, unchanged since commit 7987484 but for a
    docstring note and an optional ``PathParams.drift``),
  - ``snaive``: seasonal naive on log volume, ``σ√k`` bands,
  - ``ets``: plain log-ETS (AICc-selected, no parameter uncertainty).

* ``synthetic``: ``--synthetic`` series (default 100) from a local level with
  drift and a smooth season whose parameters are drawn from the forecaster's
  priors (:func:`synthetic`), one 18 → 36 window each; the coverage of the
  realised future by ``new``, ``snaive``, ``ets`` and the *true* predictive
  (simulated from the true parameters and state), with its cluster standard
  error (target: ``new`` within 0.75–0.85 in every bucket).
* ``long``: up to 120 months of history, 24 ahead, 4 origins a series: CRPS of
  ``new`` against ``today`` (target: ``new`` no worse).

A script, not a test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from roicast.forecast.backtest import crps_sample
from roicast.forecast.demand import simulate_history
from roicast.forecast.ets import fit_ets, posterior_draws, simulate

BUCKETS = [(1, 12), (13, 24), (25, 36)]


def real_series() -> dict[str, np.ndarray]:
    from pmdarima import datasets as pm
    from statsmodels.datasets import co2, elec_equip, elnino

    out = {
        "airpassengers": np.asarray(pm.load_airpassengers(), float),
        "wineind": np.asarray(pm.load_wineind(), float),
        "elec_equip": elec_equip.load().data.iloc[:, 0].to_numpy(float),
    }
    c = co2.load().data["co2"].interpolate()
    out["co2"] = c.resample("MS").mean().dropna().to_numpy(float)
    en = elnino.load().data.iloc[:, 1:].to_numpy(float).ravel()
    out["elnino"] = en[np.isfinite(en)]
    return out


def synthetic(k: int, n: int, rng) -> tuple[np.ndarray, dict]:
    """A local level with drift and a smooth season, parameters drawn from the forecaster's
    priors: ``α ~ U(0.05, 0.95)``, ``ln(1 + g) ~ N(0, 0.5²)``, seasonal amplitude
    ``~ U(0, 0.2)`` with a random phase; ``σ = 0.04``."""
    alpha, sigma = rng.uniform(0.05, 0.95), 0.04
    mu = rng.normal(0.0, 0.5) / 12.0
    amp = rng.uniform(0.0, 0.2)
    season = amp * np.sin(2 * np.pi * np.arange(12) / 12 + rng.uniform(0, 2 * np.pi))
    level = 10.0
    y = np.empty(n)
    levels = np.empty(n)
    for t in range(n):
        e = sigma * rng.standard_normal()
        y[t] = level + mu + season[t % 12] + e
        level = level + mu + alpha * e
        levels[t] = level
    return np.exp(y), {"alpha": alpha, "sigma": sigma, "mu": mu, "season": season, "levels": levels}


def true_predictive(truth: dict, origin: int, h: int, n_paths: int, rng) -> np.ndarray:
    """Paths of the true process from the true state at ``origin`` (steps 1..h)."""
    level = np.full(n_paths, truth["levels"][origin - 1])
    out = np.empty((n_paths, h))
    for j in range(h):
        e = truth["sigma"] * rng.standard_normal(n_paths)
        out[:, j] = np.exp(level + truth["mu"] + truth["season"][(origin + j) % 12] + e)
        level = level + truth["mu"] + truth["alpha"] * e
    return out


def forecast_new(logy, h, n_paths, seed):
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    steps = [(np.array([j]), np.array([1.0])) for j in range(h)]
    v, *_ = simulate_history(
        logy,
        period=12,
        freq="monthly",
        buckets=steps,
        n_buckets=h,
        n_paths=n_paths,
        rng_fit=rngs[0],
        rng_sim=rngs[1],
    )
    return v


def forecast_today(logy, h, n_paths, seed, pu=True):
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    fit = fit_ets(logy, period=12, horizon_steps=h, freq_label="monthly")
    sets = posterior_draws(fit, 200, n_paths, rngs[0])[0] if pu else [fit.state]
    steps = [(np.array([j]), np.array([1.0])) for j in range(h)]
    return simulate(
        sets, n_paths, steps, h, rngs[1], trend=fit.candidate.trend, n_history=len(logy)
    )


def forecast_snaive(logy, h, n_paths, seed):
    rng = np.random.default_rng(seed)
    m = 12 if len(logy) >= 14 else 1
    d = logy[m:] - logy[:-m]
    sd = float(np.sqrt(np.mean(d**2)))
    z = rng.standard_normal(n_paths)
    out = np.empty((n_paths, h))
    for j in range(h):
        base = logy[len(logy) - m + j % m]
        out[:, j] = np.exp(base + sd * np.sqrt(j // m + 1) * z)
    return out


def score(sample_mat, actual, scale):
    rows = []
    for j, obs in enumerate(actual):
        s = sample_mat[:, j]
        q10, q90 = np.quantile(s, [0.1, 0.9])
        rows.append((j + 1, float(q10 <= obs <= q90), crps_sample(s, obs) / scale))
    return rows


def windows(y, n_hist, h, step):
    for o in range(n_hist, len(y) - h + 1, step):
        yield y[o - n_hist : o], y[o : o + h]


def _table(records):
    df = pd.DataFrame.from_records(
        records, columns=["series", "window", "method", "h", "cov80", "crps", "tail"]
    )
    df["bucket"] = pd.cut(df["h"], [0, 12, 24, 36], labels=["1-12", "13-24", "25-36"])
    return df


def run_short(n_paths: int, quick: bool) -> None:
    """Real series, 18 → 36 months, every window: per series and pooled."""
    series = real_series()
    records = []
    t0 = time.process_time()
    for name, y in series.items():
        step = 12 if quick else 6
        for w, (hist, actual) in enumerate(windows(y, 18, 36, step)):
            logy = np.log(hist)
            scale = float(np.mean(np.abs(hist[12:] - hist[:-12])))
            seed = 1000 + w
            outs = {
                "new": forecast_new(logy, 36, n_paths, seed),
                "today": forecast_today(logy, 36, n_paths, seed),
                "snaive": forecast_snaive(logy, 36, n_paths, seed),
                "ets": forecast_today(logy, 36, n_paths, seed, pu=False),
            }
            for meth, mat in outs.items():
                tail = np.quantile(mat[:, -1], [0.5, 0.99])
                for h, cov, crps in score(mat, actual, scale):
                    records.append((name, w, meth, h, cov, crps, tail[1] / tail[0]))
    print(f"\nshort-history backtest, real series: {time.process_time() - t0:.0f} CPU s")
    df = _table(records)
    per = (
        df.groupby(["series", "bucket", "method"], observed=True)
        .agg(cov80=("cov80", "mean"), crps=("crps", "mean"))
        .unstack("method")
    )
    tails = df[df["h"] == 36].groupby(["series", "method"])["tail"].median().unstack("method")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    print("\nper series and bucket: P10–P90 coverage and scaled CRPS")
    print(per.round(3).to_string())
    print("\nmedian month-36 P99/P50 per series")
    print(tails.round(2).to_string())
    pooled = (
        df.groupby(["bucket", "method"], observed=True)
        .agg(cov80=("cov80", "mean"), crps=("crps", "mean"), n=("cov80", "size"))
        .unstack("method")
    )
    print("\npooled, real series (target: new cov80 in 0.72–0.88 in every bucket)")
    print(pooled.round(3).to_string())
    tail_all = df[df["h"] == 36].groupby("method")["tail"].median()
    print("\nmedian month-36 P99/P50, pooled (target: new ≤ 3)")
    print(tail_all.round(2).to_string())


def run_synthetic(n_series: int, n_paths: int) -> None:
    """Synthetic series with a known true predictive: 18 months → 36, one window each.

    The forecaster's P10–P90 coverage of the realised future, pooled per
    horizon bucket, should be within ±0.05 of 0.80.  Its Monte Carlo standard
    error is the cluster standard error over series, ``sd_i(c̄_i)/√N`` with
    ``c̄_i`` the series' coverage in the bucket (the 12 months of one series are
    strongly correlated, so the points are not independent); it is printed
    next to the coverage, and the true predictive's own coverage (same
    futures) is the check that the ±0.05 band is resolvable.
    """
    rng = np.random.default_rng(7)
    records = []
    t0 = time.process_time()
    for k in range(n_series):
        y, truth = synthetic(k, 18 + 36, rng)
        hist, actual = y[:18], y[18:]
        logy = np.log(hist)
        scale = float(np.mean(np.abs(hist[12:] - hist[:-12])))
        seed = 5000 + k
        outs = {
            "new": forecast_new(logy, 36, n_paths, seed),
            "snaive": forecast_snaive(logy, 36, n_paths, seed),
            "ets": forecast_today(logy, 36, n_paths, seed, pu=False),
            "truth": true_predictive(truth, 18, 36, n_paths, np.random.default_rng(seed)),
        }
        for meth, mat in outs.items():
            tail = np.quantile(mat[:, -1], [0.5, 0.99])
            for h, cov, crps in score(mat, actual, scale):
                records.append((f"synthetic{k:03d}", 0, meth, h, cov, crps, tail[1] / tail[0]))
    print(
        f"\nsynthetic true-coverage check, {n_series} series: {time.process_time() - t0:.0f} CPU s"
    )
    df = _table(records)
    per_series = df.groupby(["bucket", "method", "series"], observed=True)["cov80"].mean()
    g = per_series.groupby(["bucket", "method"], observed=True)
    out = pd.DataFrame({"cov80": g.mean(), "se": g.std() / np.sqrt(g.size())}).unstack("method")
    crps = df.groupby(["bucket", "method"], observed=True)["crps"].mean().unstack("method")
    print("pooled P10–P90 coverage of the true future (target: new within 0.75–0.85) ± cluster SE")
    print(out.round(3).to_string())
    print("scaled CRPS")
    print(crps.round(3).to_string())
    tail_all = df[df["h"] == 36].groupby("method")["tail"].median()
    print("median month-36 P99/P50")
    print(tail_all.round(2).to_string())


def run_long(n_paths: int, quick: bool) -> None:
    series = real_series()
    rows = []
    t0 = time.process_time()
    for name, y in series.items():
        n_hist = min(120, len(y) - 24)
        origins = range(len(y) - 24, n_hist - 1, -12)
        for w, o in enumerate(list(origins)[: 2 if quick else 4]):
            hist, actual = y[o - n_hist : o], y[o : o + 24]
            logy = np.log(hist)
            scale = float(np.mean(np.abs(hist[12:] - hist[:-12])))
            for meth, fn in (("new", forecast_new), ("today", forecast_today)):
                mat = fn(logy, 24, n_paths, 2000 + w)
                for h, cov, crps in score(mat, actual, scale):
                    rows.append((name, meth, h, cov, crps))
    df = pd.DataFrame.from_records(rows, columns=["series", "method", "h", "cov80", "crps"])
    out = df.groupby(["series", "method"]).agg(cov80=("cov80", "mean"), crps=("crps", "mean"))
    print(f"\nlong histories (≤ 120 months → 24 ahead): {time.process_time() - t0:.0f} CPU s")
    print(out.unstack("method").round(3).to_string())
    tot = df.groupby("method").agg(cov80=("cov80", "mean"), crps=("crps", "mean"))
    print(tot.round(3).to_string())


def run_servegen(n_paths: int) -> None:
    """ServeGen m-large, 14 days, growth prior {p10 0.2, p50 0.6, p90 1.5}: month-36 P99/P50
    of the forecast against the prior alone, ((1 + g₉₉)/(1 + g₅₀))^(35/12)."""
    from pathlib import Path

    from roicast.distributions import Metalog
    from roicast.forecast import forecast_demand, read_history

    path = Path(__file__).resolve().parents[1] / "tests" / "data" / "servegen_hourly_requests.csv"
    hist = read_history(path, volume_column="m-large")
    prior = Metalog(0.2, 0.6, 1.5, None, None)
    g50, g99 = prior.ppf(np.array([0.5, 0.99]))
    alone = ((1 + g99) / (1 + g50)) ** (35 / 12)
    print("\nServeGen m-large, 14 days, growth prior {0.2, 0.6, 1.5}")
    for label, kw in (("no prior (default)", {}), ("growth prior", {"annual_growth": prior})):
        fc = forecast_demand(hist, horizon_months=36, n_paths=n_paths, seed=0, **kw)
        t = fc.info["tail"]
        tr = fc.info["trend"]
        print(
            f"  {label:20s} month-36 P99/P50 {t['p99_p50']:6.2f}  (prior alone {alone:.2f}, "
            f"ratio {t['p99_p50'] / alone:.2f}); trend dominated by {tr['dominated_by']} "
            f"(sd ratio {tr['sd_ratio']:.2f})"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=1000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--synthetic", type=int, default=100, help="synthetic series (default 100)")
    ap.add_argument("--only", choices=["short", "synthetic", "long", "servegen"], default=None)
    args = ap.parse_args()
    if args.only in (None, "servegen"):
        run_servegen(10_000)
    if args.only in (None, "short"):
        run_short(args.paths, args.quick)
    if args.only in (None, "synthetic"):
        run_synthetic(args.synthetic, args.paths)
    if args.only in (None, "long"):
        run_long(args.paths, args.quick)


if __name__ == "__main__":
    main()
