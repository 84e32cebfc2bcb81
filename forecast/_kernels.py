"""numba kernels of the forecast stage.

Pure functions over plain arrays: no validation, no objects, outputs written
into preallocated arrays.  Checking happens in the Python callers
(:mod:`roicast.forecast.averaging`, :mod:`roicast.forecast.ets`).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def filter_columns(y, alpha, beta, gamma, phi, m, b0_col, season_col, sbasis, gram, end):
    """ETS-with-drift recursions for ``G`` parameter sets, linear in the initial states.

    Column 0 carries the data with all initial states at 0; column 1 a unit
    initial level; column 2 a unit drift ``μ``; column ``b0_col`` (if ≥ 0) a
    unit initial trend; column ``season_col + i`` the initial seasonal buffer
    ``sbasis[:, i]`` (a basis of zero-sum seasonal patterns).  For column ``c`` (``y = 0`` unless
    ``c = 0``) and step ``t`` (seasonal index ``k = t mod m``)::

        e = y[t]·[c = 0] − (l + [c = 2] + φ b + s[k])
        l ← l + [c = 2] + φ b + α e,   b ← φ b + β e,   s[k] ← s[k] + γ e

    so that the residuals of initial state ``x`` are ``e₀ + Σ_c x_c e_c``.

    Parameters
    ----------
    y : float64[n]
    alpha, beta, gamma, phi : float64[G]
    m : int
        Seasonal period (1: none).
    b0_col, season_col : int
        Columns of the initial trend and of the first seasonal coefficient (−1: absent).
    sbasis : float64[m, J]
        Seasonal basis (ignored when ``season_col < 0``).
    gram : float64[G, C, C]
        Output: ``E'E`` of the ``n × C`` residual columns.
    end : float64[G, 2 + m, C]
        Output: end-of-history level, trend and seasonal buffer (rotated so
        that row ``2 + k`` is used ``k + 1`` steps after the end), per column.
    """
    n = y.shape[0]
    n_sets = alpha.shape[0]
    cols = gram.shape[1]
    for g in range(n_sets):
        a, bt, gm, ph = alpha[g], beta[g], gamma[g], phi[g]
        lev = np.zeros(cols)
        tr = np.zeros(cols)
        buf = np.zeros((m, cols))
        e = np.empty(cols)
        lev[1] = 1.0
        if b0_col >= 0:
            tr[b0_col] = 1.0
        if season_col >= 0:
            for j in range(sbasis.shape[1]):
                for k in range(m):
                    buf[k, season_col + j] = sbasis[k, j]
        acc = np.zeros((cols, cols))
        for t in range(n):
            k = t % m
            for c in range(cols):
                pred = lev[c] + ph * tr[c] + buf[k, c]
                if c == 2:
                    pred += 1.0
                e[c] = -pred
            e[0] += y[t]
            for i in range(cols):
                ei = e[i]
                for j in range(i, cols):
                    acc[i, j] += ei * e[j]
            for c in range(cols):
                step = ph * tr[c] + a * e[c]
                if c == 2:
                    step += 1.0
                lev[c] += step
                tr[c] = ph * tr[c] + bt * e[c]
                buf[k, c] += gm * e[c]
        for i in range(cols):
            for j in range(i, cols):
                gram[g, i, j] = acc[i, j]
                gram[g, j, i] = acc[i, j]
        shift = n % m
        for c in range(cols):
            end[g, 0, c] = lev[c]
            end[g, 1, c] = tr[c]
            for k in range(m):
                end[g, 2 + k, c] = buf[(k + shift) % m, c]


@nb.njit(cache=True)
def simulate_paths(
    alpha, beta, gamma, phi, sigma, drift, level, trend, season, z, weights, bucket_of, share, out
):
    """Simulate log-ETS-with-drift paths and add ``exp(y)`` into buckets.

    For path ``p`` and step ``h`` (``k = h mod m``, shock ``e = σ z[h, p]``,
    state-shock weight ``w = weights[h]``)::

        ŷ = l + μ + φ b + s[k];  y = ŷ + e
        l ← l + μ + φ b + α w e,  b ← φ b + β w e,  s[k] ← s[k] + γ w e

    and ``out[p, bucket_of[h, j]] += share[h, j]·exp(y)`` for the step's
    buckets (``bucket_of < 0``: none).

    Parameters
    ----------
    alpha, beta, gamma, phi, sigma, drift, level, trend : float64[P]
    season : float64[P, m]
        Seasonal buffer, element ``k`` used ``k + 1`` steps after the end (modified).
    z : float64[H, P]
        Standard innovations (normal or Student-t scaled to unit variance).
    weights : float64[H]
    bucket_of : int64[H, J]
    share : float64[H, J]
    out : float64[P, n_buckets]
        Output, added into (start from zeros).
    """
    n_paths = alpha.shape[0]
    horizon = z.shape[0]
    m = season.shape[1]
    n_j = bucket_of.shape[1]
    for p in range(n_paths):
        lev = level[p]
        b = trend[p]
        for h in range(horizon):
            k = h % m
            e = sigma[p] * z[h, p]
            es = weights[h] * e
            pb = phi[p] * b
            s_old = season[p, k]
            y = lev + drift[p] + pb + s_old + e
            lev = lev + drift[p] + pb + alpha[p] * es
            b = pb + beta[p] * es
            season[p, k] = s_old + gamma[p] * es
            v = np.exp(y)
            for j in range(n_j):
                q = bucket_of[h, j]
                if q >= 0:
                    out[p, q] += share[h, j] * v
