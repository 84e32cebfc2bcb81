"""Issue 13, quick start: validation stays light, and the fast paths give the slow paths' numbers.

* ``roicast validate`` on a demo spec must not import the heavy stages (fresh
  interpreter, ``sys.modules``, as ``tests/test_layers.py`` does);
* ``Distribution.bounds()`` (plain Python) against the numba ``ppf`` it stands for;
* the serial twins of :mod:`roicast._fastppf`'s parallel drivers, bit for bit;
* the sensitivity ranks from one value sort (numba) against ``np.argsort``.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import roicast._fastppf as fastppf
import roicast.sensitivity._common as common
from roicast.distributions import (
    Q_HIGH,
    Q_LOW,
    Beta,
    Discrete,
    Fixed,
    Lognormal,
    Metalog,
    Normal,
    Pert,
    Triangular,
    TruncNormal,
    Uniform,
)

DEMO = Path(__file__).resolve().parents[1] / "roicast" / "demo"
HEAVY = ("numba", "xarray", "statsmodels", "scipy.stats", "matplotlib", "dask")


def _loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    script = (
        f"import sys\n{code}\nprint('LOADED:' + ','.join(m for m in {names!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = [line for line in proc.stdout.splitlines() if line.startswith("LOADED:")][-1]
    return [m for m in last.removeprefix("LOADED:").split(",") if m]


@pytest.mark.slow  # a fresh interpreter importing the spec stack
def test_bounds_of_every_demo_input_load_no_ppf_kernels():
    code = (
        "from roicast.spec import load_spec\n"
        "for ex in ('quantization', 'options', 'fleet', 'onprem'):\n"
        f"    s = load_spec({str(DEMO)!r} + '/' + ex + '.toml')\n"
        "    for o in s.options:\n"
        "        for sec in (s.baseline, o.optimized, s.pricing, o.implementation, o.churn):\n"
        "            for v in vars(sec).values():\n"
        "                getattr(v, 'bounds', lambda: None)()\n"
    )
    assert _loaded_after(code, ("roicast._fastppf",)) == []


@pytest.mark.slow  # a fresh interpreter running the CLI
@pytest.mark.parametrize("example", ["quantization", "onprem"])
def test_validate_imports_no_heavy_stage(example):
    code = (
        "import sys\n"
        "from roicast.cli import app\n"
        f"sys.argv = ['roicast', 'validate', {str(DEMO / (example + '.toml'))!r}]\n"
        "try:\n"
        "    app()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
    )
    assert _loaded_after(code, HEAVY) == []


#: What a ``run --no-report`` must not load: figures, Dask (xarray asks for it per array
#: and per netCDF write unless :func:`roicast.forecast._xarray.defer_dask` is in place).
RUN_UNUSED = ("matplotlib", "dask.array", "distributed", "statsmodels")


@pytest.mark.slow  # a fresh interpreter running a 200-draw study of the demo
def test_run_without_report_imports_no_figures_and_no_dask(tmp_path):
    code = (
        "import sys\n"
        "from roicast.cli import app\n"
        f"sys.argv = ['roicast', 'run', {str(DEMO / 'quantization.toml')!r}, '-n', '200', "
        f"'-q', '--no-report', '-o', {str(tmp_path / 'out')!r}]\n"
        "try:\n"
        "    app()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
    )
    assert _loaded_after(code, RUN_UNUSED) == []
    assert (tmp_path / "out" / "results.nc").is_file()


@pytest.mark.slow  # a fresh interpreter importing the CLI
def test_help_imports_no_spec_and_no_numeric_stack():
    code = (
        "import sys\n"
        "from roicast.cli import app\n"
        "sys.argv = ['roicast', '--help']\n"
        "try:\n"
        "    app()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
    )
    names = (*HEAVY, "pandas", "pydantic", "roicast.spec")
    assert _loaded_after(code, names) == []


def _distributions() -> list:
    rng = np.random.default_rng(7)
    out: list = [Fixed(2.5), Discrete((1.0, 2.0, 5.0), (0.2, 0.3, 0.5))]
    for _ in range(6):
        lo = rng.uniform(-10, 10)
        w = rng.uniform(1e-3, 100)
        m = lo + w * rng.uniform()
        out += [
            Pert(lo, m, lo + w, float(rng.choice([4.0, rng.uniform(0.5, 20)]))),
            Triangular(lo, m, lo + w),
            Uniform(lo, lo + w),
            Normal(rng.uniform(-5, 5), rng.uniform(0.01, 10)),
            Lognormal(rng.uniform(0.01, 100), rng.uniform(0.01, 3)),
            Beta(rng.uniform(0.1, 30), rng.uniform(0.1, 30), lo, lo + w),
        ]
        mu, sd = rng.uniform(-5, 5), rng.uniform(0.1, 3)
        a = mu + sd * rng.uniform(-8, 3)
        b = a + sd * rng.uniform(0.05, 10)
        out += [TruncNormal(mu, sd, a, b), TruncNormal(mu, sd, -math.inf, b)]
        out += [TruncNormal(mu, sd, a, math.inf)]
        p10 = rng.uniform(0.5, 1)
        p50 = p10 + rng.uniform(0.1, 1)
        p90 = p50 + rng.uniform(0.1, 1)
        for lower, upper in [(None, None), (0.0, None), (None, p90 + 1), (0.0, p90 + 0.5)]:
            try:
                out.append(Metalog(p10, p50, p90, lower, upper))
            except ValueError:  # too skewed for a 3-term metalog
                pass
    return out


@pytest.mark.slow  # builds a ppf table per parameter set
def test_bounds_contain_the_sampler_and_match_ppf():
    for d in _distributions():
        lo, hi = d.bounds()
        p_lo, p_hi = d.ppf(np.array([Q_LOW, Q_HIGH]))
        # Every value the sampler can produce lies within the validated bounds ...
        assert lo <= p_lo and p_hi <= hi, d
        # ... and they are the same quantiles: closed forms to rounding; where ppf
        # interpolates a table (accurate to 1e-13 relative), widened by 1e-12.  A
        # truncated normal cut to a sliver far in a tail (x ≈ -6 sd) keeps 1e-10.
        tol = 1e-10 * max(abs(p_lo), abs(p_hi), 1.0)
        assert abs(lo - p_lo) <= tol and abs(hi - p_hi) <= tol, (d, lo, p_lo, hi, p_hi)


def test_bounds_of_closed_forms_are_ppf_exactly():
    for d in (Uniform(0.1, 0.7), Triangular(1, 2, 5), Normal(3, 2), Lognormal(2, 0.4)):
        assert d.bounds() == tuple(d.ppf(np.array([Q_LOW, Q_HIGH])).tolist()), d


@pytest.mark.parametrize(
    "dist",
    [
        Pert(0, 1, 3),
        Beta(0.5, 3, 1, 2),
        Triangular(0, 1, 2),
        Uniform(-1, 2),
        Normal(1, 2),
        Lognormal(2, 0.5),
        TruncNormal(0, 1, -1, 2),
        Metalog(1, 2, 4, 0, 10),
        Discrete((1.0, 2.0, 3.0), (0.2, 0.3, 0.5)),
    ],
)
def test_serial_and_parallel_drivers_agree_bit_for_bit(dist):
    rng = np.random.default_rng(3)
    q = np.concatenate([rng.uniform(size=fastppf.PARALLEL_MIN), [0.0, 1.0, 1e-12, 1 - 1e-12]])
    parallel = dist.ppf(q)
    serial = np.concatenate([dist.ppf(q[i : i + 1000]) for i in range(0, q.size, 1000)])
    np.testing.assert_array_equal(parallel, serial)


def _tied_sample(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    base = 1.0 + np.arange(40) * 2.0**-48  # distinct values sharing their high key bits
    return pd.DataFrame(
        {
            "uniform": rng.uniform(size=n),
            "signed": rng.normal(size=n),
            "zeros": rng.choice([-0.0, 0.0, 1.5, -3.0], size=n),  # -0.0 == 0.0: one tie group
            "short_runs": rng.choice(base, size=n) + np.repeat(np.arange(n // 40 + 1), 40)[:n],
            "long_run": 1e6 + rng.integers(0, 50, size=n) * 1e-9,  # argsort fallback
            "heavy": np.exp(3.0 * rng.normal(size=n)),
        }
    )


def test_value_sort_ranks_are_argsort_ranks(monkeypatch):
    from scipy.stats import rankdata

    X = _tied_sample(60_000)
    fast = common.average_ranks(X.to_numpy())
    for j, name in enumerate(X.columns):
        np.testing.assert_array_equal(fast[j], rankdata(X[name].to_numpy()), err_msg=name)
    monkeypatch.setattr(common, "FAST_RANK_N", 10**12)
    np.testing.assert_array_equal(fast, common.average_ranks(X.to_numpy()))


def test_rankings_fast_path_equals_the_argsort_path(monkeypatch):
    import roicast.sensitivity.rankings as _  # noqa: F401  (the module, for monkeypatch)

    rankings_module = sys.modules["roicast.sensitivity.rankings"]
    X = _tied_sample(60_000)
    rng = np.random.default_rng(11)
    y = (3 * X["uniform"] - X["signed"] + X["zeros"] + rng.normal(size=len(X))).round(2)
    fast = rankings_module.rankings(X, y)
    fast_bins = rankings_module.binned_effect(X, y, bins=7)
    monkeypatch.setattr(rankings_module, "FAST_RANK_N", 10**12)
    slow = rankings_module.rankings(X, y)
    slow_bins = rankings_module.binned_effect(X, y, bins=7)
    assert list(fast.index) == list(slow.index)
    # Same ranks, same bins, sums in the same draw order: equal to rounding of the
    # Spearman sums (1e-12 is far above it and far below any reported digit).
    num = fast.select_dtypes("number").columns
    np.testing.assert_allclose(fast[num], slow[num], rtol=0, atol=1e-12)
    assert (fast["nonmonotonic"] == slow["nonmonotonic"]).all()
    np.testing.assert_array_equal(fast_bins["bin_count"], slow_bins["bin_count"])
    np.testing.assert_allclose(fast_bins["bin_mean"], slow_bins["bin_mean"], rtol=0, atol=1e-12)
