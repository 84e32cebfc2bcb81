"""Input distributions of a roicast spec.

Every uncertain scalar of a spec is one of these.  They all follow the same
small protocol, which is all the sampler and the sensitivity stage need:

* ``ppf(q)``: the quantile function over a NumPy array of probabilities;
* ``median``: ``ppf(0.5)``;
* ``is_fixed``: ``True`` when the value is known (no uncertainty);
* ``describe()``: a short human-readable form for reports ("PERT(2, 3, 5)");
* ``to_dict()``: the spec-table form, so a report can show what was assumed.

In a spec a plain number means "known"; a table chooses a distribution::

    throughput_gain = { dist = "pert", min = 1.5, mode = 2.2, max = 3.0 }
    utilization     = { p10 = 0.25, p50 = 0.35, p90 = 0.5, lower = 0, upper = 1 }

The quantile form ``{p10, p50, p90}`` is a 3-term metalog that hits the three
given quantiles exactly (Keelin 2016); optional ``lower`` / ``upper`` bounds make
it the log- or logit-metalog so that the values stay inside them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "Beta",
    "Discrete",
    "Distribution",
    "Fixed",
    "Lognormal",
    "Metalog",
    "Normal",
    "Pert",
    "Triangular",
    "TruncNormal",
    "Uniform",
    "parse_distribution",
]

# Probabilities the sampler never goes beyond: validation checks the support of a
# distribution at these quantiles, and the sampler clips its uniforms to them, so
# every value a study uses has been validated.
Q_LOW = 1e-9
Q_HIGH = 1.0 - 1e-9


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float | int) else repr(x)


@dataclass(frozen=True)
class Distribution:
    """Base class: subclasses implement :meth:`ppf` and :meth:`describe`."""

    def ppf(self, q: np.ndarray | float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def median(self) -> float:
        return float(self.ppf(np.array([0.5]))[0])

    @property
    def is_fixed(self) -> bool:
        return False

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value the sampler can produce (quantiles 1e-9, 1 - 1e-9)."""
        lo, hi = self.ppf(np.array([Q_LOW, Q_HIGH]))
        return float(lo), float(hi)

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"dist": type(self).__name__.lower()}
        d.update({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        return d


@dataclass(frozen=True)
class Fixed(Distribution):
    """A known value."""

    value: float

    def ppf(self, q):
        return np.full(np.shape(q), float(self.value))

    @property
    def is_fixed(self) -> bool:
        return True

    def describe(self) -> str:
        return _num(self.value)

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "fixed", "value": self.value}


@dataclass(frozen=True)
class _Scipy(Distribution):
    """A distribution backed by a frozen ``scipy.stats`` distribution."""

    def _frozen(self):  # pragma: no cover - abstract
        raise NotImplementedError

    @cached_property
    def _dist(self):
        # built once per instance: freezing a scipy distribution costs ~0.1 ms
        return self._frozen()

    def ppf(self, q):
        return np.asarray(self._dist.ppf(q), dtype=float)


@dataclass(frozen=True)
class Uniform(_Scipy):
    low: float
    high: float

    def _frozen(self):
        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def describe(self) -> str:
        return f"Uniform({_num(self.low)}, {_num(self.high)})"


@dataclass(frozen=True)
class Triangular(_Scipy):
    min: float
    mode: float
    max: float

    def _frozen(self):
        width = self.max - self.min
        return stats.triang(c=(self.mode - self.min) / width, loc=self.min, scale=width)

    def describe(self) -> str:
        return f"Triangular({_num(self.min)}, {_num(self.mode)}, {_num(self.max)})"


@dataclass(frozen=True)
class Pert(_Scipy):
    """PERT: a Beta on ``[min, max]`` with mean ``(min + λ·mode + max) / (λ + 2)``."""

    min: float
    mode: float
    max: float
    lam: float = 4.0

    def _frozen(self):
        width = self.max - self.min
        a = 1.0 + self.lam * (self.mode - self.min) / width
        b = 1.0 + self.lam * (self.max - self.mode) / width
        return stats.beta(a, b, loc=self.min, scale=width)

    def describe(self) -> str:
        lam = "" if self.lam == 4.0 else f", λ={_num(self.lam)}"
        return f"PERT({_num(self.min)}, {_num(self.mode)}, {_num(self.max)}{lam})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dist": "pert",
            "min": self.min,
            "mode": self.mode,
            "max": self.max,
            "lambda": self.lam,
        }


@dataclass(frozen=True)
class Normal(_Scipy):
    mean: float
    sd: float

    def _frozen(self):
        return stats.norm(self.mean, self.sd)

    def describe(self) -> str:
        return f"Normal({_num(self.mean)}, sd {_num(self.sd)})"


@dataclass(frozen=True)
class TruncNormal(_Scipy):
    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf

    def _frozen(self):
        a = (self.low - self.mean) / self.sd
        b = (self.high - self.mean) / self.sd
        return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)

    def describe(self) -> str:
        return f"TruncNormal({_num(self.mean)}, sd {_num(self.sd)}, [{_num(self.low)}, {_num(self.high)}])"


@dataclass(frozen=True)
class Lognormal(_Scipy):
    """Lognormal given by its median and the sd ``sigma`` of its logarithm."""

    median_: float
    sigma: float

    def _frozen(self):
        return stats.lognorm(s=self.sigma, scale=self.median_)

    def describe(self) -> str:
        return f"Lognormal(median {_num(self.median_)}, σ {_num(self.sigma)})"

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "lognormal", "median": self.median_, "sigma": self.sigma}


@dataclass(frozen=True)
class Beta(_Scipy):
    alpha: float
    beta: float
    low: float = 0.0
    high: float = 1.0

    def _frozen(self):
        return stats.beta(self.alpha, self.beta, loc=self.low, scale=self.high - self.low)

    def describe(self) -> str:
        rng = (
            ""
            if (self.low, self.high) == (0.0, 1.0)
            else f", [{_num(self.low)}, {_num(self.high)}]"
        )
        return f"Beta({_num(self.alpha)}, {_num(self.beta)}{rng})"


@dataclass(frozen=True)
class Discrete(Distribution):
    """Finitely many values with weights (normalised to sum to one)."""

    values: tuple[float, ...]
    weights: tuple[float, ...]
    _cum: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        order = np.argsort(self.values, kind="stable")
        v = np.asarray(self.values, float)[order]
        w = np.asarray(self.weights, float)[order]
        object.__setattr__(self, "values", tuple(v.tolist()))
        object.__setattr__(self, "weights", tuple((w / w.sum()).tolist()))
        object.__setattr__(self, "_cum", tuple(np.cumsum(w / w.sum()).tolist()))

    def ppf(self, q):
        cum = np.asarray(self._cum)
        idx = np.searchsorted(cum, np.asarray(q, float), side="left")
        return np.asarray(self.values)[np.minimum(idx, len(cum) - 1)]

    def describe(self) -> str:
        pairs = ", ".join(
            f"{_num(v)}:{w:.0%}" for v, w in zip(self.values, self.weights, strict=True)
        )
        return f"Discrete({pairs})"

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "discrete", "values": list(self.values), "weights": list(self.weights)}


# Feasibility of the 3-term metalog: monotone iff |a3| / a2 < 1.66711 (Keelin 2016, table 3).
_METALOG_MAX_RATIO = 1.66711
_LOGIT_09 = math.log(9.0)


@dataclass(frozen=True)
class Metalog(Distribution):
    """3-term metalog through the given P10, P50 and P90, optionally bounded.

    .. math:: M(y) = a_1 + a_2 L(y) + a_3 (y - 1/2) L(y), \\quad L(y) = \\ln\\frac{y}{1-y}

    fitted exactly to the three quantiles (in the transformed space
    ``z = ln(x - lower)`` or ``z = ln((x - lower) / (upper - x))`` when bounds are given).
    """

    p10: float
    p50: float
    p90: float
    lower: float | None = None
    upper: float | None = None

    def _to_z(self, x: float) -> float:
        if self.lower is not None and self.upper is not None:
            return math.log((x - self.lower) / (self.upper - x))
        if self.lower is not None:
            return math.log(x - self.lower)
        if self.upper is not None:
            return -math.log(self.upper - x)
        return x

    def _coeffs(self) -> tuple[float, float, float]:
        z10, z50, z90 = (self._to_z(v) for v in (self.p10, self.p50, self.p90))
        a1 = z50
        a2 = (z90 - z10) / (2 * _LOGIT_09)
        a3 = (z90 + z10 - 2 * z50) / (0.8 * _LOGIT_09)
        return a1, a2, a3

    def feasible(self) -> bool:
        _, a2, a3 = self._coeffs()
        return a2 > 0 and abs(a3) / a2 < _METALOG_MAX_RATIO

    def ppf(self, q):
        y = np.asarray(q, float)
        a1, a2, a3 = self._coeffs()
        with np.errstate(divide="ignore"):
            lg = np.log(y / (1.0 - y))
        z = a1 + a2 * lg + a3 * (y - 0.5) * lg
        if self.lower is not None and self.upper is not None:
            return self.lower + (self.upper - self.lower) / (1.0 + np.exp(-z))
        if self.lower is not None:
            return self.lower + np.exp(z)
        if self.upper is not None:
            return self.upper - np.exp(-z)
        return z

    def describe(self) -> str:
        b = ""
        if self.lower is not None or self.upper is not None:
            b = f", bounds [{_num(self.lower) if self.lower is not None else '-∞'}, {_num(self.upper) if self.upper is not None else '∞'}]"
        return f"Metalog(P10 {_num(self.p10)}, P50 {_num(self.p50)}, P90 {_num(self.p90)}{b})"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"p10": self.p10, "p50": self.p50, "p90": self.p90}
        if self.lower is not None:
            d["lower"] = self.lower
        if self.upper is not None:
            d["upper"] = self.upper
        return d


# --------------------------------------------------------------------------- parsing

_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # dist: (required keys, optional keys)
    "fixed": (("value",), ()),
    "uniform": (("low", "high"), ()),
    "triangular": (("min", "mode", "max"), ()),
    "pert": (("min", "mode", "max"), ("lambda",)),
    "normal": (("mean", "sd"), ()),
    "truncnormal": (("mean", "sd"), ("low", "high")),
    "lognormal": ((), ("median", "sigma", "mean", "sd")),
    "beta": (("alpha", "beta"), ("low", "high")),
    "discrete": (("values", "weights"), ()),
    "quantiles": (("p10", "p50", "p90"), ("lower", "upper")),
}


def _fail(rule: str) -> ValueError:
    return ValueError(rule)


def _float(table: Mapping[str, Any], key: str, dist: str) -> float:
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _fail(f"{dist} `{key}` must be a number, got {v!r}")
    if not math.isfinite(v):
        raise _fail(f"{dist} `{key}` must be finite, got {v!r}")
    return float(v)


def parse_distribution(value: Any) -> Distribution:
    """Turn a spec value (a number or a table) into a :class:`Distribution`.

    Raises ``ValueError`` whose message states the rule broken; the spec loader
    prefixes it with the field's dotted name and the value given.
    """
    if isinstance(value, Distribution):
        return value
    if isinstance(value, bool):
        raise _fail("expected a number or a distribution table, got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise _fail("must be a finite number")
        return Fixed(float(value))
    if not isinstance(value, Mapping):
        raise _fail(
            "expected a number or a distribution table such as "
            f"{{ dist = 'pert', min = 1, mode = 2, max = 3 }} or {{ p10 = 1, p50 = 2, p90 = 3 }}, got {value!r}"
        )
    table = dict(value)
    dist = table.pop("dist", None)
    if dist is None:
        if {"p10", "p50", "p90"} & table.keys():
            dist = "quantiles"
        else:
            raise _fail(
                f"a distribution table needs `dist` (one of {', '.join(sorted(_KEYS))}) or p10/p50/p90"
            )
    if not isinstance(dist, str) or dist.lower() not in _KEYS:
        raise _fail(f"unknown dist {dist!r}; use one of {', '.join(sorted(_KEYS))}")
    dist = dist.lower()
    required, optional = _KEYS[dist]
    missing = [k for k in required if k not in table]
    if missing:
        raise _fail(f"{dist} needs {', '.join(required)}; missing {', '.join(missing)}")
    unknown = sorted(set(table) - set(required) - set(optional))
    if unknown:
        allowed = ", ".join((*required, *optional))
        raise _fail(f"{dist} takes {allowed}; unknown key {', '.join(unknown)}")

    if dist == "fixed":
        return Fixed(_float(table, "value", dist))
    if dist == "uniform":
        lo, hi = _float(table, "low", dist), _float(table, "high", dist)
        if not lo < hi:
            raise _fail(f"uniform needs low < high, got low={_num(lo)}, high={_num(hi)}")
        return Uniform(lo, hi)
    if dist in ("triangular", "pert"):
        a, m, b = (_float(table, k, dist) for k in ("min", "mode", "max"))
        if not (a <= m <= b):
            raise _fail(
                f"{dist} needs min <= mode <= max, got min={_num(a)}, mode={_num(m)}, max={_num(b)}"
            )
        if a == b:
            return Fixed(a)
        if dist == "triangular":
            return Triangular(a, m, b)
        lam = _float(table, "lambda", dist) if "lambda" in table else 4.0
        if lam <= 0:
            raise _fail(f"pert `lambda` must be > 0, got {_num(lam)}")
        return Pert(a, m, b, lam)
    if dist in ("normal", "truncnormal"):
        mu, sd = _float(table, "mean", dist), _float(table, "sd", dist)
        if sd < 0:
            raise _fail(f"{dist} `sd` must be >= 0, got {_num(sd)}")
        if dist == "normal":
            return Fixed(mu) if sd == 0 else Normal(mu, sd)
        lo = _float(table, "low", dist) if "low" in table else -math.inf
        hi = _float(table, "high", dist) if "high" in table else math.inf
        if not lo < hi:
            raise _fail(f"truncnormal needs low < high, got low={_num(lo)}, high={_num(hi)}")
        if sd == 0:
            raise _fail("truncnormal `sd` must be > 0")
        return TruncNormal(mu, sd, lo, hi)
    if dist == "lognormal":
        keys = set(table)
        if keys == {"median", "sigma"}:
            med, s = _float(table, "median", dist), _float(table, "sigma", dist)
        elif keys == {"mean", "sd"}:
            mean, sd = _float(table, "mean", dist), _float(table, "sd", dist)
            if mean <= 0 or sd < 0:
                raise _fail(
                    f"lognormal needs mean > 0 and sd >= 0, got mean={_num(mean)}, sd={_num(sd)}"
                )
            s = math.sqrt(math.log1p((sd / mean) ** 2))
            med = mean / math.sqrt(1 + (sd / mean) ** 2)
        else:
            raise _fail("lognormal takes either median and sigma (sd of the log) or mean and sd")
        if med <= 0 or s < 0:
            raise _fail(
                f"lognormal needs median > 0 and sigma >= 0, got median={_num(med)}, sigma={_num(s)}"
            )
        return Fixed(med) if s == 0 else Lognormal(med, s)
    if dist == "beta":
        a, b = _float(table, "alpha", dist), _float(table, "beta", dist)
        lo = _float(table, "low", dist) if "low" in table else 0.0
        hi = _float(table, "high", dist) if "high" in table else 1.0
        if a <= 0 or b <= 0:
            raise _fail(f"beta needs alpha > 0 and beta > 0, got alpha={_num(a)}, beta={_num(b)}")
        if not lo < hi:
            raise _fail(f"beta needs low < high, got low={_num(lo)}, high={_num(hi)}")
        return Beta(a, b, lo, hi)
    if dist == "discrete":
        vals, wts = table["values"], table["weights"]
        if (
            not isinstance(vals, list | tuple)
            or not isinstance(wts, list | tuple)
            or len(vals) != len(wts)
            or not vals
        ):
            raise _fail(
                "discrete needs `values` and `weights` as lists of the same, non-zero length"
            )
        if any(isinstance(x, bool) for x in (*vals, *wts)):
            raise _fail("discrete `values` and `weights` must be numbers, not booleans")
        try:
            v = [float(x) for x in vals]
            w = [float(x) for x in wts]
        except (TypeError, ValueError):
            raise _fail("discrete `values` and `weights` must be numbers") from None
        if any(x < 0 for x in w) or sum(w) <= 0 or not all(map(math.isfinite, v + w)):
            raise _fail("discrete `weights` must be finite, >= 0 and not all zero")
        if len(set(v)) == 1:
            return Fixed(v[0])
        return Discrete(tuple(v), tuple(w))
    # quantiles
    p10, p50, p90 = (_float(table, k, "quantiles") for k in ("p10", "p50", "p90"))
    if not p10 < p50 < p90:
        raise _fail(
            f"quantiles need p10 < p50 < p90, got p10={_num(p10)}, p50={_num(p50)}, p90={_num(p90)}"
        )
    lower = _float(table, "lower", "quantiles") if "lower" in table else None
    upper = _float(table, "upper", "quantiles") if "upper" in table else None
    if lower is not None and not lower < p10:
        raise _fail(f"quantiles need lower < p10, got lower={_num(lower)}, p10={_num(p10)}")
    if upper is not None and not p90 < upper:
        raise _fail(f"quantiles need p90 < upper, got p90={_num(p90)}, upper={_num(upper)}")
    m = Metalog(p10, p50, p90, lower, upper)
    if not m.feasible():
        raise _fail(
            f"p10={_num(p10)}, p50={_num(p50)}, p90={_num(p90)} are too skewed for a 3-term metalog "
            "(it would not be monotone); move p50 towards the middle or give `lower`/`upper` bounds"
        )
    return m
