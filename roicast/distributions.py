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

Each distribution is a frozen dataclass registered under its spec name
(``dist = "pert"``): :meth:`Distribution.from_table` reads its table and the
constructor checks its rules, so ``Pert(3, 1, 2)`` raises like the table does.
:func:`parse_distribution` dispatches on the registry.  Quantiles come from the
numba inverse CDFs of :mod:`roicast._fastppf` (accurate to 1e-10 against
scipy, which is only the tests' oracle).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "Beta",
    "Combined",
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
    "combine",
    "parse_distribution",
    "quantile_of",
    "registry",
]

# Probabilities the sampler never goes beyond: validation checks the support of a
# distribution at these quantiles, and the sampler clips its uniforms to them, so
# every value a study uses has been validated.
Q_LOW = 1e-9
Q_HIGH = 1.0 - 1e-9


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float | int) else repr(x)


def _fail(rule: str) -> ValueError:
    return ValueError(rule)


def _float(table: Mapping[str, Any], key: str, dist: str) -> float:
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _fail(f"{dist} `{key}` must be a number, got {v!r}")
    if not math.isfinite(v):
        raise _fail(f"{dist} `{key}` must be finite, got {v!r}")
    return float(v)


def _floats(table: Mapping[str, Any], dist: str, keys: tuple[str, ...]) -> list[float]:
    return [_float(table, k, dist) for k in keys]


_REGISTRY: dict[str, type[Distribution]] = {}


def _register(cls: type[Distribution]) -> type[Distribution]:
    _REGISTRY[cls.kind] = cls
    return cls


def registry() -> dict[str, type[Distribution]]:
    """The distributions a spec table may name, by ``dist`` (a copy)."""
    return dict(_REGISTRY)


# --------------------------------------------------------------------------- bounds, closed forms
#
# ``Distribution.bounds()`` is what spec validation calls for every input; it must
# not load numba (the compiled inverse CDFs of :mod:`roicast._fastppf`) or build an
# interpolation table.  These plain-Python scalar quantiles follow the same
# formulas as the numba kernels (AS241 for the normal, the same metalog,
# triangular, uniform and discrete arithmetic, the same truncated-normal set-up
# and the same Newton solve of the incomplete beta), so they agree with
# ``ppf`` to rounding; where ``ppf`` interpolates a table (beta, PERT and the
# truncated normal), the bound is widened outwards by ``_BOUND_SLACK`` relative,
# above the tables' 1e-13 accuracy, so that a sampled value never lies outside
# its validated bounds.

_BOUND_SLACK = 1e-12

# AS241 (Wichura 1988, PPND16), ascending powers: the coefficients of roicast._fastppf.
_AS241 = (
    (3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3,
     1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
     3.3430575583588128105e4, 2.5090809287301226727e3),
    (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
     2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
     5.2264952788528545610e3),
    (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
     3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
     2.27238449892691845833e-2, 7.74545014278341407640e-4),
    (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
     1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
     1.05075007164441684324e-9),
    (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
     2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
     2.71155556874348757815e-5, 2.01033439929228813265e-7),
    (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
     7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
     2.04426310338993978564e-15),
)  # fmt: skip


def _horner8(c: tuple[float, ...], x: float) -> float:
    return c[0] + x * (
        c[1] + x * (c[2] + x * (c[3] + x * (c[4] + x * (c[5] + x * (c[6] + x * c[7])))))
    )


def _ndtri(p: float) -> float:
    r"""Standard normal quantile :math:`\Phi^{-1}(p)` for ``0 < p < 1`` (AS241, as the numba kernel)."""
    a, b, c, d, e, f = _AS241
    qq = p - 0.5
    if abs(qq) <= 0.425:
        r = 0.180625 - qq * qq
        return qq * _horner8(a, r) / _horner8(b, r)
    r = math.sqrt(-math.log(p if qq < 0.0 else 1.0 - p))
    if r <= 5.0:
        v = _horner8(c, r - 1.6) / _horner8(d, r - 1.6)
    else:
        v = _horner8(e, r - 5.0) / _horner8(f, r - 5.0)
    return -v if qq < 0.0 else v


def _truncnormal_q(q: float, mean: float, sd: float, low: float, high: float) -> float | None:
    r"""Truncated-normal quantile at ``0 < q < 1`` (the numba ``_tn_setup`` / ``_tn_std``).

    With standardised bounds reflected so that :math:`a \le 0`:
    :math:`p = \Phi(a) + eZ` and :math:`s = \bar\Phi(a) - eZ` (or from ``b``),
    :math:`x = \Phi^{-1}(p)` if :math:`p \le s` else :math:`-\Phi^{-1}(s)`.
    None in the far-tail case the kernel handles in log space (:math:`a < -37`, :math:`b < -5`).
    """
    a, b = (low - mean) / sd, (high - mean) / sd
    flip = a > 0.0
    if flip:
        a, b = -b, -a
    if a < -37.0 and b < -5.0:
        return None
    pa = 0.5 * math.erfc(-a * 0.70710678118654752440)
    qa = 0.5 * math.erfc(a * 0.70710678118654752440)
    if b == math.inf:
        pb, qb = 1.0, 0.0
    else:
        pb = 0.5 * math.erfc(-b * 0.70710678118654752440)
        qb = 0.5 * math.erfc(b * 0.70710678118654752440)
    z = pb - pa if b <= 0.0 else (0.5 - pa) + (0.5 - qb)
    from_a = (q <= 0.5) != flip
    e = q if q <= 0.5 else 1.0 - q
    p, s = (pa + e * z, qa - e * z) if from_a else (pb - e * z, qb + e * z)
    x = min(max(_ndtri(p) if p <= s else -_ndtri(s), a), b)
    return -x if flip else x


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of :math:`I_x(a, b)` (modified Lentz, as the numba kernel)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (tiny if abs(d) < tiny else d)
    h = d
    for m in range(1, 5000):
        m2 = 2.0 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (tiny if abs(d) < tiny else d)
            c = 1.0 + aa / c
            c = tiny if abs(c) < tiny else c
            de = d * c
            h *= de
        if abs(de - 1.0) < 3e-16:
            break
    return h


def _log_ibeta(a: float, b: float, lbeta: float, y: float) -> float:
    r""":math:`\ln I_x(a, b)` at :math:`x = e^y` (``y <= 0``)."""
    if y >= 0.0:
        return 0.0
    x, omx = math.exp(y), -math.expm1(y)
    lbt = a * y + b * math.log(omx) - lbeta
    if x < (a + 1.0) / (a + b + 2.0):
        return lbt + math.log(_betacf(a, b, x) / a)
    return math.log1p(-math.exp(lbt) * _betacf(b, a, omx) / b)


def _beta_log_q(a: float, b: float, t: float) -> float:
    r""":math:`y = \ln x` with :math:`\ln I_x(a, b) = t < 0`: Newton in ``y`` kept in a bracket.

    The start is the far-tail law :math:`x \approx (q\,a\,B(a, b))^{1/a}`, capped at the
    median's approximation (the numba ``_beta_guess`` / ``_beta_solve``).
    """
    lbeta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    m = min(max((a - 1.0 / 3.0) / (a + b - 2.0 / 3.0), 1e-6), 1.0 - 1e-6)
    y = min(min((t + math.log(a) + lbeta) / a, math.log(m)), -1e-300)
    lo, hi = -math.inf, 0.0
    for _ in range(300):
        g = _log_ibeta(a, b, lbeta, y)
        f = g - t
        if f == 0.0:
            return y
        if f > 0.0:
            hi = y
        else:
            lo = y
        dg = math.exp(a * y + (b - 1.0) * math.log(-math.expm1(y)) - lbeta - g)
        ynew = y - f / dg
        if not lo < ynew < hi:
            ynew = y - 1.0 - abs(y) if lo == -math.inf else 0.5 * (lo + hi)
        if abs(ynew - y) <= 1e-15 * (1.0 + abs(y)):
            return ynew
        y = ynew
        if hi - lo <= 1e-15 * (1.0 + abs(y)):
            return y
    return y


def _beta_bounds(a: float, b: float, low: float, high: float) -> tuple[float, float]:
    """Beta(a, b) on ``[low, high]`` at ``Q_LOW`` and ``Q_HIGH``, widened by ``_BOUND_SLACK``."""
    x_lo = math.exp(_beta_log_q(a, b, math.log(Q_LOW)))
    x_hi = -math.expm1(_beta_log_q(b, a, math.log(1.0 - Q_HIGH)))
    x_lo *= 1.0 - _BOUND_SLACK
    x_hi = 1.0 - (1.0 - x_hi) * (1.0 - _BOUND_SLACK)
    scale = high - low
    return max(x_lo * scale + low, low), min(x_hi * scale + low, high)


def _metalog_q(q: float, a1: float, a2: float, a3: float, lower, upper) -> float:
    """Metalog quantile at ``0 < q < 1`` (the numba ``_metalog_x``)."""
    lg = math.log(q / (1.0 - q))
    z = a1 + a2 * lg + a3 * (q - 0.5) * lg
    if lower is not None:
        if upper is not None:
            return lower + (upper - lower) / (1.0 + math.exp(-z))
        return lower + math.exp(z)
    if upper is not None:
        return upper - math.exp(-z)
    return z


def _uniform_bounds(p: tuple) -> tuple[float, float]:
    low, high = float(p[0]), float(p[1])
    return Q_LOW * (high - low) + low, Q_HIGH * (high - low) + low


def _triangular_bounds(p: tuple) -> tuple[float, float]:
    lo, mode, hi = (float(v) for v in p)
    width = hi - lo
    c = (mode - lo) / width

    def tri(q: float) -> float:
        x = math.sqrt(c * q) if q < c else 1.0 - math.sqrt((1.0 - c) * (1.0 - q))
        return x * width + lo

    return tri(Q_LOW), tri(Q_HIGH)


def _pert_bounds(p: tuple) -> tuple[float, float]:
    lo, mode, hi, lam = (float(v) for v in p)
    width = hi - lo
    a, b = 1.0 + lam * (mode - lo) / width, 1.0 + lam * (hi - mode) / width
    return _beta_bounds(a, b, lo, hi)


def _truncnormal_bounds(p: tuple) -> tuple[float, float] | None:
    mean, sd, low, high = (float(v) for v in p)
    x_lo = _truncnormal_q(Q_LOW, mean, sd, low, high)
    x_hi = _truncnormal_q(Q_HIGH, mean, sd, low, high)
    if x_lo is None or x_hi is None:
        return None
    pad = _BOUND_SLACK * (1.0 + abs(x_lo) + abs(x_hi))
    return max((x_lo - pad) * sd + mean, low), min((x_hi + pad) * sd + mean, high)


def _discrete_bounds(p: tuple) -> tuple[float, float]:
    values, cum = p

    def disc(q: float) -> float:
        i = next((i for i, c in enumerate(cum) if c >= q), len(cum) - 1)
        return float(values[min(i, len(values) - 1)])

    return disc(Q_LOW), disc(Q_HIGH)


def _metalog_bounds(p: tuple) -> tuple[float, float]:
    p10, p50, p90, lower, upper = p
    z10, z50, z90 = (_metalog_z(v, lower, upper) for v in (p10, p50, p90))
    a = (z50, (z90 - z10) / (2 * _LOGIT_09), (z90 + z10 - 2 * z50) / (0.8 * _LOGIT_09))
    return _metalog_q(Q_LOW, *a, lower, upper), _metalog_q(Q_HIGH, *a, lower, upper)


_CLOSED_FORM_BOUNDS = {
    "fixed": lambda p: (float(p[0]), float(p[0])),
    "uniform": _uniform_bounds,
    "triangular": _triangular_bounds,
    "normal": lambda p: (_ndtri(Q_LOW) * p[1] + p[0], _ndtri(Q_HIGH) * p[1] + p[0]),
    "lognormal": lambda p: (
        math.exp(p[1] * _ndtri(Q_LOW)) * p[0],
        math.exp(p[1] * _ndtri(Q_HIGH)) * p[0],
    ),
    "pert": _pert_bounds,
    "beta": lambda p: _beta_bounds(*(float(v) for v in p)),
    "truncnormal": _truncnormal_bounds,
    "discrete": _discrete_bounds,
    "metalog": _metalog_bounds,
}


def _closed_form_bounds(kind: str, p: tuple) -> tuple[float, float] | None:
    """``(ppf(Q_LOW), ppf(Q_HIGH))`` of a distribution given as :meth:`Distribution.fast_args`,
    in plain Python; None for a kind (or a far-tail truncated normal) left to ``ppf``."""
    fn = _CLOSED_FORM_BOUNDS.get(kind)
    return None if fn is None else fn(p)


def _metalog_z(x: float, lower, upper) -> float:
    """The metalog's transformed value: ``ln((x - lower) / (upper - x))``, ``ln(x - lower)``, ..."""
    if lower is not None and upper is not None:
        return math.log((x - lower) / (upper - x))
    if lower is not None:
        return math.log(x - lower)
    if upper is not None:
        return -math.log(upper - x)
    return x


@dataclass(frozen=True)
class Distribution:
    """Base class: subclasses implement :meth:`ppf`, :meth:`describe` and :meth:`from_table`.

    ``kind`` is the spec name; ``required`` / ``optional`` are the table's keys.
    """

    kind: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()

    def fast_args(self) -> tuple[str, tuple]:  # pragma: no cover - abstract
        """``(kind, params)`` of this distribution for :func:`roicast._fastppf.ppf_into`."""
        raise NotImplementedError

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        """Quantiles at probabilities ``q`` (numba inverse CDFs, accurate to 1e-10 against scipy)."""
        from roicast._fastppf import ppf_into

        qa = np.asarray(q, dtype=np.float64)
        flat = np.ascontiguousarray(qa.reshape(-1))
        out = np.empty_like(flat)
        kind, params = self.fast_args()
        ppf_into(kind, params, flat, out)
        return out.reshape(qa.shape)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Distribution:  # pragma: no cover - abstract
        """Build from a spec table whose keys were checked against ``required`` / ``optional``."""
        raise NotImplementedError

    @property
    def median(self) -> float:
        return float(self.ppf(np.array([0.5]))[0])

    @property
    def is_fixed(self) -> bool:
        return False

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value the sampler can produce (quantiles 1e-9, 1 - 1e-9).

        In plain Python for the kinds of this module (closed forms and scalar
        solves that follow the numba kernels; no numba, no table): spec
        validation calls it for every input.  Where :meth:`ppf` interpolates a
        table (beta, PERT, truncated normal) the result is widened outwards by
        1e-12 relative, so every sampled value lies within it.  Other kinds
        (and a truncated normal far in one tail) use :meth:`ppf`.
        """
        kind, params = self.fast_args()
        closed = _closed_form_bounds(kind, params)
        if closed is not None:
            return float(closed[0]), float(closed[1])
        lo, hi = self.ppf(np.array([Q_LOW, Q_HIGH]))
        return float(lo), float(hi)

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"dist": self.kind}
        d.update({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        return d


@_register
@dataclass(frozen=True)
class Fixed(Distribution):
    """A known value."""

    kind: ClassVar[str] = "fixed"
    required: ClassVar[tuple[str, ...]] = ("value",)
    value: float

    def __post_init__(self):
        if not math.isfinite(self.value):
            raise _fail(f"must be a finite number, got {self.value!r}")

    @classmethod
    def from_table(cls, table):
        return cls(_float(table, "value", cls.kind))

    def fast_args(self):
        return "fixed", (float(self.value),)

    def ppf(self, q):
        return np.full(np.shape(q), float(self.value))

    @property
    def is_fixed(self) -> bool:
        return True

    def describe(self) -> str:
        return _num(self.value)

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "fixed", "value": self.value}


@_register
@dataclass(frozen=True)
class Uniform(Distribution):
    kind: ClassVar[str] = "uniform"
    required: ClassVar[tuple[str, ...]] = ("low", "high")
    low: float
    high: float

    def __post_init__(self):
        if not self.low < self.high:
            raise _fail(
                f"uniform needs low < high, got low={_num(self.low)}, high={_num(self.high)}"
            )

    @classmethod
    def from_table(cls, table):
        return cls(*_floats(table, cls.kind, cls.required))

    def fast_args(self):
        return "uniform", (self.low, self.high)

    def describe(self) -> str:
        return f"Uniform({_num(self.low)}, {_num(self.high)})"


def _three_points(table: Mapping[str, Any], dist: str) -> tuple[float, float, float]:
    """``min, mode, max`` of a table, ordered (``min = max`` is allowed: a known value)."""
    a, m, b = _floats(table, dist, ("min", "mode", "max"))
    if not (a <= m <= b):
        raise _fail(
            f"{dist} needs min <= mode <= max, got min={_num(a)}, mode={_num(m)}, max={_num(b)}"
        )
    return a, m, b


def _check_min_mode_max(dist: str, a: float, m: float, b: float) -> None:
    if not (a <= m <= b):
        raise _fail(
            f"{dist} needs min <= mode <= max, got min={_num(a)}, mode={_num(m)}, max={_num(b)}"
        )
    if a == b:
        raise _fail(f"{dist} needs min < max, got min = max = {_num(a)} (give a plain number)")


@_register
@dataclass(frozen=True)
class Triangular(Distribution):
    kind: ClassVar[str] = "triangular"
    required: ClassVar[tuple[str, ...]] = ("min", "mode", "max")
    min: float
    mode: float
    max: float

    def __post_init__(self):
        _check_min_mode_max(self.kind, self.min, self.mode, self.max)

    @classmethod
    def from_table(cls, table):
        a, m, b = _three_points(table, cls.kind)
        return Fixed(a) if a == b else cls(a, m, b)

    def fast_args(self):
        return "triangular", (self.min, self.mode, self.max)

    def describe(self) -> str:
        return f"Triangular({_num(self.min)}, {_num(self.mode)}, {_num(self.max)})"


@_register
@dataclass(frozen=True)
class Pert(Distribution):
    """PERT: a Beta on ``[min, max]`` with mean ``(min + λ·mode + max) / (λ + 2)``."""

    kind: ClassVar[str] = "pert"
    required: ClassVar[tuple[str, ...]] = ("min", "mode", "max")
    optional: ClassVar[tuple[str, ...]] = ("lambda",)
    min: float
    mode: float
    max: float
    lam: float = 4.0

    def __post_init__(self):
        _check_min_mode_max(self.kind, self.min, self.mode, self.max)
        if not self.lam > 0:
            raise _fail(f"pert `lambda` must be > 0, got {_num(self.lam)}")

    @classmethod
    def from_table(cls, table):
        a, m, b = _three_points(table, cls.kind)
        lam = _float(table, "lambda", cls.kind) if "lambda" in table else 4.0
        return Fixed(a) if a == b else cls(a, m, b, lam)

    def shape(self) -> tuple[float, float]:
        """The Beta shape parameters ``(α, β)``."""
        width = self.max - self.min
        a = 1.0 + self.lam * (self.mode - self.min) / width
        b = 1.0 + self.lam * (self.max - self.mode) / width
        return a, b

    def fast_args(self):
        return "pert", (self.min, self.mode, self.max, self.lam)

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


@_register
@dataclass(frozen=True)
class Normal(Distribution):
    kind: ClassVar[str] = "normal"
    required: ClassVar[tuple[str, ...]] = ("mean", "sd")
    mean: float
    sd: float

    def __post_init__(self):
        if not self.sd > 0:
            raise _fail(f"normal `sd` must be > 0, got {_num(self.sd)}")

    @classmethod
    def from_table(cls, table):
        mu, sd = _floats(table, cls.kind, cls.required)
        if sd < 0:
            raise _fail(f"normal `sd` must be >= 0, got {_num(sd)}")
        return Fixed(mu) if sd == 0 else cls(mu, sd)

    def fast_args(self):
        return "normal", (self.mean, self.sd)

    def describe(self) -> str:
        return f"Normal({_num(self.mean)}, sd {_num(self.sd)})"


@_register
@dataclass(frozen=True)
class TruncNormal(Distribution):
    kind: ClassVar[str] = "truncnormal"
    required: ClassVar[tuple[str, ...]] = ("mean", "sd")
    optional: ClassVar[tuple[str, ...]] = ("low", "high")
    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self):
        if self.sd < 0:
            raise _fail(f"truncnormal `sd` must be >= 0, got {_num(self.sd)}")
        if not self.low < self.high:
            raise _fail(
                f"truncnormal needs low < high, got low={_num(self.low)}, high={_num(self.high)}"
            )
        if self.sd == 0:
            raise _fail("truncnormal `sd` must be > 0")

    @classmethod
    def from_table(cls, table):
        mu, sd = _floats(table, cls.kind, cls.required)
        lo = _float(table, "low", cls.kind) if "low" in table else -math.inf
        hi = _float(table, "high", cls.kind) if "high" in table else math.inf
        return cls(mu, sd, lo, hi)

    def fast_args(self):
        return "truncnormal", (self.mean, self.sd, self.low, self.high)

    def describe(self) -> str:
        return f"TruncNormal({_num(self.mean)}, sd {_num(self.sd)}, [{_num(self.low)}, {_num(self.high)}])"


@_register
@dataclass(frozen=True)
class Lognormal(Distribution):
    """Lognormal given by its median and the sd ``sigma`` of its logarithm."""

    kind: ClassVar[str] = "lognormal"
    optional: ClassVar[tuple[str, ...]] = ("median", "sigma", "mean", "sd")
    median_: float
    sigma: float

    def __post_init__(self):
        if not (self.median_ > 0 and self.sigma > 0):
            raise _fail(
                f"lognormal needs median > 0 and sigma > 0, got median={_num(self.median_)}, "
                f"sigma={_num(self.sigma)} (give a plain number for a known value)"
            )

    @classmethod
    def from_table(cls, table):
        keys = set(table)
        if keys == {"median", "sigma"}:
            return cls(*_floats(table, cls.kind, ("median", "sigma")))
        if keys == {"mean", "sd"}:
            mean, sd = _floats(table, cls.kind, ("mean", "sd"))
            if mean <= 0 or sd <= 0:
                raise _fail(
                    f"lognormal needs mean > 0 and sd > 0, got mean={_num(mean)}, sd={_num(sd)}"
                )
            s = math.sqrt(math.log1p((sd / mean) ** 2))
            return cls(mean / math.sqrt(1 + (sd / mean) ** 2), s)
        raise _fail("lognormal takes either median and sigma (sd of the log) or mean and sd")

    def fast_args(self):
        return "lognormal", (self.median_, self.sigma)

    def describe(self) -> str:
        return f"Lognormal(median {_num(self.median_)}, σ {_num(self.sigma)})"

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "lognormal", "median": self.median_, "sigma": self.sigma}


@_register
@dataclass(frozen=True)
class Beta(Distribution):
    kind: ClassVar[str] = "beta"
    required: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    optional: ClassVar[tuple[str, ...]] = ("low", "high")
    alpha: float
    beta: float
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        if self.alpha <= 0 or self.beta <= 0:
            raise _fail(
                f"beta needs alpha > 0 and beta > 0, got alpha={_num(self.alpha)}, beta={_num(self.beta)}"
            )
        if not self.low < self.high:
            raise _fail(f"beta needs low < high, got low={_num(self.low)}, high={_num(self.high)}")

    @classmethod
    def from_table(cls, table):
        a, b = _floats(table, cls.kind, cls.required)
        lo = _float(table, "low", cls.kind) if "low" in table else 0.0
        hi = _float(table, "high", cls.kind) if "high" in table else 1.0
        return cls(a, b, lo, hi)

    def fast_args(self):
        return "beta", (self.alpha, self.beta, self.low, self.high)

    def describe(self) -> str:
        rng = (
            ""
            if (self.low, self.high) == (0.0, 1.0)
            else f", [{_num(self.low)}, {_num(self.high)}]"
        )
        return f"Beta({_num(self.alpha)}, {_num(self.beta)}{rng})"


#: How far the weights of a discrete distribution may sum from 1.
_WEIGHT_TOL = 1e-6


@_register
@dataclass(frozen=True)
class Discrete(Distribution):
    """Finitely many distinct values with weights that sum to one."""

    kind: ClassVar[str] = "discrete"
    required: ClassVar[tuple[str, ...]] = ("values", "weights")
    values: tuple[float, ...]
    weights: tuple[float, ...]
    _cum: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        v = np.asarray(self.values, float)
        w = np.asarray(self.weights, float)
        if v.size == 0 or v.size != w.size:
            raise _fail(
                "discrete needs `values` and `weights` as lists of the same, non-zero length"
            )
        if not (np.isfinite(v).all() and np.isfinite(w).all()) or (w < 0).any():
            raise _fail(
                f"discrete `weights` must be finite and >= 0, and `values` finite; got values "
                f"{list(self.values)}, weights {list(self.weights)}"
            )
        if abs(w.sum() - 1.0) > _WEIGHT_TOL:
            raise _fail(
                f"discrete `weights` must sum to 1, got {w.sum():.6g} (weights {list(self.weights)})"
            )
        if len(set(v.tolist())) != v.size:
            raise _fail(f"discrete `values` must be distinct, got {list(self.values)}")
        order = np.argsort(v, kind="stable")
        v, w = v[order], w[order] / w.sum()
        object.__setattr__(self, "values", tuple(v.tolist()))
        object.__setattr__(self, "weights", tuple(w.tolist()))
        object.__setattr__(self, "_cum", tuple(np.cumsum(w).tolist()))

    @classmethod
    def from_table(cls, table):
        vals, wts = table["values"], table["weights"]
        if not isinstance(vals, list | tuple) or not isinstance(wts, list | tuple):
            raise _fail(
                "discrete needs `values` and `weights` as lists of the same, non-zero length"
            )
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (*vals, *wts)):
            raise _fail("discrete `values` and `weights` must be numbers, not booleans or text")
        if len(vals) == 1 and len(wts) == 1:
            return Fixed(float(vals[0]))
        return cls(tuple(map(float, vals)), tuple(map(float, wts)))

    def fast_args(self):
        return "discrete", (self.values, self._cum)

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


@_register
@dataclass(frozen=True)
class Metalog(Distribution):
    """3-term metalog through the given P10, P50 and P90, optionally bounded.

    .. math:: M(y) = a_1 + a_2 L(y) + a_3 (y - 1/2) L(y), \\quad L(y) = \\ln\\frac{y}{1-y}

    fitted exactly to the three quantiles (in the transformed space
    ``z = ln(x - lower)`` or ``z = ln((x - lower) / (upper - x))`` when bounds are given).
    """

    kind: ClassVar[str] = "quantiles"
    required: ClassVar[tuple[str, ...]] = ("p10", "p50", "p90")
    optional: ClassVar[tuple[str, ...]] = ("lower", "upper")
    p10: float
    p50: float
    p90: float
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self):
        p10, p50, p90, lower, upper = self.p10, self.p50, self.p90, self.lower, self.upper
        if not p10 < p50 < p90:
            raise _fail(
                f"quantiles need p10 < p50 < p90, got p10={_num(p10)}, p50={_num(p50)}, p90={_num(p90)}"
            )
        if lower is not None and not lower < p10:
            raise _fail(f"quantiles need lower < p10, got lower={_num(lower)}, p10={_num(p10)}")
        if upper is not None and not p90 < upper:
            raise _fail(f"quantiles need p90 < upper, got p90={_num(p90)}, upper={_num(upper)}")
        if not self.feasible():
            raise _fail(
                f"p10={_num(p10)}, p50={_num(p50)}, p90={_num(p90)} are too skewed for a 3-term metalog "
                "(it would not be monotone); move p50 towards the middle or give `lower`/`upper` bounds"
            )

    @classmethod
    def from_table(cls, table):
        p10, p50, p90 = _floats(table, cls.kind, cls.required)
        lower = _float(table, "lower", cls.kind) if "lower" in table else None
        upper = _float(table, "upper", cls.kind) if "upper" in table else None
        return cls(p10, p50, p90, lower, upper)

    def _to_z(self, x: float) -> float:
        if self.lower is not None and self.upper is not None:
            return math.log((x - self.lower) / (self.upper - x))
        if self.lower is not None:
            return math.log(x - self.lower)
        if self.upper is not None:
            return -math.log(self.upper - x)
        return x

    def coefficients(self) -> tuple[float, float, float]:
        """``(a1, a2, a3)`` of the metalog in the transformed space."""
        z10, z50, z90 = (self._to_z(v) for v in (self.p10, self.p50, self.p90))
        a1 = z50
        a2 = (z90 - z10) / (2 * _LOGIT_09)
        a3 = (z90 + z10 - 2 * z50) / (0.8 * _LOGIT_09)
        return a1, a2, a3

    def feasible(self) -> bool:
        _, a2, a3 = self.coefficients()
        return a2 > 0 and abs(a3) / a2 < _METALOG_MAX_RATIO

    def fast_args(self):
        return "metalog", (self.p10, self.p50, self.p90, self.lower, self.upper)

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


def _kind_of(table: dict[str, Any]) -> str:
    dist = table.pop("dist", None)
    if dist is None:
        if {"p10", "p50", "p90"} & table.keys():
            return "quantiles"
        raise _fail(
            f"a distribution table needs `dist` (one of {', '.join(sorted(_REGISTRY))}) or p10/p50/p90"
        )
    if not isinstance(dist, str) or dist.lower() not in _REGISTRY:
        raise _fail(f"unknown dist {dist!r}; use one of {', '.join(sorted(_REGISTRY))}")
    return dist.lower()


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
            raise _fail(f"must be a finite number, got {value!r}")
        return Fixed(float(value))
    if not isinstance(value, Mapping):
        raise _fail(
            "expected a number or a distribution table such as "
            f"{{ dist = 'pert', min = 1, mode = 2, max = 3 }} or {{ p10 = 1, p50 = 2, p90 = 3 }}, got {value!r}"
        )
    table = dict(value)
    cls = _REGISTRY[_kind_of(table)]
    missing = [k for k in cls.required if k not in table]
    if missing:
        raise _fail(f"{cls.kind} needs {', '.join(cls.required)}; missing {', '.join(missing)}")
    unknown = sorted(set(table) - set(cls.required) - set(cls.optional))
    if unknown:
        allowed = ", ".join((*cls.required, *cls.optional))
        raise _fail(f"{cls.kind} takes {allowed}; unknown key {', '.join(unknown)}")
    return cls.from_table(table)


# --------------------------------------------------------------------------- derived inputs

#: How :class:`Combined` composes its parts' quantiles.
COMBINE_OPS = ("product", "sum", "max", "mean")


@dataclass(frozen=True)
class Combined(Distribution):
    """An input derived from other distributions' quantiles at the same probability.

    An option that ``combines`` others shares their uniforms (common random
    numbers), so in a draw with uniform :math:`u` part :math:`k` has the value
    :math:`F_k^{-1}(u)` and the derived input is

    .. math::

        \\text{product: } s \\prod_k F_k^{-1}(u), \\qquad
        \\text{sum: } \\sum_k F_k^{-1}(u), \\qquad
        \\text{max: } \\max_k F_k^{-1}(u), \\qquad
        \\text{mean: } \\frac{\\sum_k w_k F_k^{-1}(u)}{\\sum_k w_k}

    (``mean`` with weights :math:`w_k \\ge 0`; the plain mean when they sum to
    0).  Each is non-decreasing in :math:`u` (the product for positive parts),
    so it is a quantile function: the tornado, break-even, base point and
    Sobol use it like any other distribution.  Not a spec distribution (it is
    not in :func:`registry`); build it with :func:`combine`.

    Attributes
    ----------
    op : str
        One of :data:`COMBINE_OPS`.
    parts : tuple of Distribution
        The parts' distributions.
    of : tuple of str
        The parts' names (options), for :meth:`describe`.
    weights : tuple of float
        ``mean`` only: one weight per part.
    scale : float
        ``product`` only: a constant factor :math:`s`.
    """

    kind: ClassVar[str] = "combined"
    op: str
    parts: tuple[Distribution, ...]
    of: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    scale: float = 1.0

    def __post_init__(self):
        if self.op not in COMBINE_OPS:
            raise _fail(f"combined `op` must be one of {', '.join(COMBINE_OPS)}, got {self.op!r}")
        if not self.parts:
            raise _fail("combined needs at least one part")
        if self.op == "mean" and len(self.weights) != len(self.parts):
            raise _fail("combined `mean` needs one weight per part")

    def ppf(self, q):
        vals = [np.asarray(p.ppf(q), dtype=float) for p in self.parts]
        if self.op == "product":
            out = np.full(np.shape(q), float(self.scale))
            for v in vals:
                out = out * v
            return out
        if self.op == "sum":
            out = np.zeros(np.shape(q))
            for v in vals:
                out = out + v
            return out
        if self.op == "max":
            return np.maximum.reduce(vals)
        return weighted_mean(vals, [np.float64(w) for w in self.weights])

    @property
    def is_fixed(self) -> bool:
        return all(p.is_fixed for p in self.parts)

    def describe(self) -> str:
        sym = {"product": " × ", "sum": " + ", "max": ", "}.get(self.op, ", ")
        names = self.of or tuple(f"part {k + 1}" for k in range(len(self.parts)))
        body = sym.join(f"{n}: {p.describe()}" for n, p in zip(names, self.parts, strict=True))
        if self.op == "max":
            return f"max({body})"
        if self.op == "mean":
            return f"weighted mean({body})"
        lead = "" if self.scale == 1.0 else f"{_num(self.scale)} × "
        return f"{lead}({body})"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "dist": "combined",
            "op": self.op,
            "of": list(self.of),
            "parts": [p.to_dict() for p in self.parts],
        }
        if self.op == "mean":
            d["weights"] = list(self.weights)
        if self.op == "product" and self.scale != 1.0:
            d["scale"] = self.scale
        return d


def weighted_mean(values: list[np.ndarray], weights: list[np.ndarray]) -> np.ndarray:
    """:math:`\\sum_k w_k v_k / \\sum_k w_k` elementwise; the plain mean where the weights sum to 0."""
    num = np.zeros(np.broadcast_shapes(*(np.shape(v) for v in values)))
    den = np.zeros_like(num)
    for v, w in zip(values, weights, strict=True):
        num = num + w * v
        den = den + w
    plain = sum(values) / len(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), plain)
    same = np.ones(num.shape, dtype=bool)  # parts that agree give their value, not a rounding of it
    for v in values[1:]:
        same &= np.asarray(v) == np.asarray(values[0])
    return np.where(same, np.broadcast_to(values[0], num.shape), out)


def combine(
    op: str,
    parts: list[Distribution],
    *,
    of: list[str] | None = None,
    weights: list[float] | None = None,
    scale: float = 1.0,
) -> Distribution:
    """A :class:`Combined` input, or :class:`Fixed` when every part is known."""
    d = Combined(op, tuple(parts), tuple(of or ()), tuple(float(w) for w in weights or ()), scale)
    return Fixed(float(d.ppf(np.array([0.5]))[0])) if d.is_fixed else d


def quantile_of(d: Distribution, x: np.ndarray, *, steps: int = 64) -> np.ndarray:
    """The probabilities :math:`q \\in [Q_{LOW}, Q_{HIGH}]` at which ``d.ppf(q)`` reaches ``x``.

    The smallest such :math:`q` by bisection on the (non-decreasing) quantile
    function, ``steps`` halvings (64: the bracket is below one ulp of
    :math:`q`); values outside the distribution's range give the end of the
    bracket.  For a known value, 0.5.
    """
    x = np.asarray(x, dtype=float)
    if d.is_fixed:
        return np.full(x.shape, 0.5)
    lo = np.full(x.shape, Q_LOW)
    hi = np.full(x.shape, Q_HIGH)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        below = np.asarray(d.ppf(mid)) < x
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return hi
