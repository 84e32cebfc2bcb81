"""Re-runs of a study's draws (goal seek, stress cases, spider) use the study's price paths.

A batch gives its projects a shared market seed for the price shocks (``price_seed``),
different from each project's seed; the review's re-runs used the project seed, so in a
batch they re-simulated the draws on other price paths than the study's.
"""

from __future__ import annotations

import numpy as np
import pytest

from roicast.report.review import _M, _Rerun
from roicast.spec import load_spec
from roicast.study import run_study

from .conftest import DEMO


@pytest.fixture(scope="module")
def spec():
    return load_spec(DEMO / "quantization.toml")


@pytest.mark.parametrize("price_seed", [None, 987_654])
def test_a_rerun_of_the_draws_reproduces_the_study(spec, price_seed):
    result = run_study(
        spec, draws=300, seed=5, price_seed=price_seed, sensitivity=False, monthly=False
    )
    assert result.price_path_seed == (5 if price_seed is None else price_seed)
    option = next(iter(result.options))
    rr = _Rerun(result, option)
    again = rr.metrics(rr.x)[:, _M["npv"]]
    # the same draws, values and noise: the same NPV to the last bit
    np.testing.assert_array_equal(again, result.options[option].metrics["npv"].values)
