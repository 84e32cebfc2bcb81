"""Counter-based random numbers keyed by (seed, draw, stream, counter).

Every random number a draw uses is a pure function of the study seed, the draw's
index, a stream number and a counter, so results do not depend on how draws are
split over threads, processes or Dask workers, and a tornado setting can reuse a
draw's noise exactly.  The generator is SplitMix64's finaliser (Steele, Lea &
Flood 2014) applied to a Weyl sequence: the same construction as SplitMix64,
whose output passes BigCrush, addressed by counter instead of by state.

The NumPy twins (``*_np``) compute identical numbers for arrays; the plain
NumPy reference model uses them so the two implementations can be compared
draw by draw.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = [
    "STREAM_CHURN",
    "STREAM_PRICE",
    "STREAM_PROFILE",
    "draw_key",
    "draw_key_np",
    "uniform",
    "uniform_np",
]

STREAM_PRICE = 0
STREAM_CHURN = 1
#: Which load profile a draw uses (fleet model); a new stream, so the others do not move.
STREAM_PROFILE = 2

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_WEYL2 = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_TWO_M53 = 2.0**-53


@nb.njit(nb.uint64(nb.uint64), cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(nb.uint64(nb.uint64, nb.int64, nb.int64), cache=True, inline="always")
def draw_key(seed, draw, stream):
    """Key of one draw's stream: a 64-bit hash of (seed, draw, stream)."""
    k = _mix(seed + np.uint64(stream + 1) * _GOLDEN)
    return _mix(k + np.uint64(draw) * _WEYL2)


@nb.njit(nb.float64(nb.uint64, nb.int64), cache=True, inline="always")
def uniform(key, counter):
    """The ``counter``-th uniform of a stream, in the open interval (0, 1)."""
    z = _mix(key + (np.uint64(counter) + _ONE) * _GOLDEN)
    return (np.float64(z >> _S11) + 0.5) * _TWO_M53


def _mix_np(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def draw_key_np(seed: int, draws: np.ndarray, stream: int) -> np.ndarray:
    """NumPy twin of :func:`draw_key` for an array of draw indices."""
    with np.errstate(over="ignore"):
        k = _mix_np(np.array([np.uint64(seed) + np.uint64(stream + 1) * _GOLDEN], dtype=np.uint64))
        return _mix_np(k + np.asarray(draws, dtype=np.uint64) * _WEYL2)


def uniform_np(keys: np.ndarray, counter: int | np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`uniform`."""
    with np.errstate(over="ignore"):
        z = _mix_np(keys + (np.asarray(counter, dtype=np.uint64) + _ONE) * _GOLDEN)
    return ((z >> _S11).astype(np.float64) + 0.5) * _TWO_M53
