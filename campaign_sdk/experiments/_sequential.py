"""The always-valid test: a mixture sequential probability ratio test (mSPRT).

For the difference of two proportions d = p_t - p_c, with the normal approximation of its
estimate (variance V = p_t(1-p_t)/n_t + p_c(1-p_c)/n_c) and a normal mixture N(0, tau^2) over
the true difference (Johari, Pekelis, Walsh, "Always valid inference", 2017; Robbins 1970),
the mixture likelihood ratio against "no difference" is

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2))).

Under no difference Lambda is a nonnegative martingale, so by Ville's inequality
P(Lambda ever reaches 1/alpha) <= alpha: p = min(1, 1/Lambda) is a p-value that stays valid
however often and whenever the data are looked at, and inverting the test gives a confidence
sequence (an interval that covers the truth at every look at once, with probability 1 - alpha).
``tau`` is the scale of the effects the test is tuned for; validity does not depend on it.

The relative lift p_t / p_c - 1 gets its own confidence sequence (:func:`relative_cs`), the same
normal-mixture boundary applied to the log ratio r = log(p_t / p_c), whose estimate has the
delta-method variance W = (1 - p_t) / (n_t p_t) + (1 - p_c) / (n_c p_c): the interval
r +- sqrt(2 W (W + s^2) / s^2 * (log(1/alpha) + log((W + s^2) / W) / 2)), exponentiated. Like
the mSPRT it is valid asymptotically (the normal approximation of the estimate), at every look at
once; ``s`` (``LOG_TAU``) is the relative effect it is tuned for.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
TAU_SHARE = 0.5  # default tau: half the pooled rate (the width is flat for tau^2 from 5 to 100 V)
LOG_TAU = 0.3  # the relative CS's mixture scale on the log ratio: tuned for lifts of about +-30%


def variance(events_t: npt.ArrayLike, n_t: npt.ArrayLike, events_c: npt.ArrayLike, n_c: npt.ArrayLike) -> Array:
    """Var of p_t - p_c (unpooled); a rate of 0 or 1 counts as half an event, so V > 0."""
    x1, m1, x2, m2 = (np.asarray(a, dtype="float64") for a in (events_t, n_t, events_c, n_c))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.clip(x1 / m1, 0.5 / m1, 1 - 0.5 / m1)
        p2 = np.clip(x2 / m2, 0.5 / m2, 1 - 0.5 / m2)
        return p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2


def default_tau(events_t: npt.ArrayLike, n_t: npt.ArrayLike, events_c: npt.ArrayLike, n_c: npt.ArrayLike) -> Array:
    """``TAU_SHARE`` times the pooled rate (at least 0.001)."""
    x = np.asarray(events_t, dtype="float64") + np.asarray(events_c, dtype="float64")
    n = np.asarray(n_t, dtype="float64") + np.asarray(n_c, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.maximum(TAU_SHARE * x / n, 1e-3)


def msprt(
    events_t: npt.ArrayLike, n_t: npt.ArrayLike, events_c: npt.ArrayLike, n_c: npt.ArrayLike, *,
    alpha: float = 0.05, tau: float | npt.ArrayLike | None = None,
) -> tuple[Array, Array, Array]:
    """Always-valid p-value and (1 - alpha) confidence sequence (low, high) of p_t - p_c.

    Vectorised: every argument may be an array (one element per experiment or look).

    >>> p, low, high = msprt(130, 1000, 100, 1000)
    >>> bool(low < 0.03 < high), round(float(p), 3) < 1
    (True, True)
    """
    x1, m1, x2, m2 = (np.asarray(a, dtype="float64") for a in (events_t, n_t, events_c, n_c))
    tau2 = np.asarray(default_tau(x1, m1, x2, m2) if tau is None else tau, dtype="float64") ** 2
    v = variance(x1, m1, x2, m2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = x1 / m1 - x2 / m2
        log_lr = 0.5 * np.log(v / (v + tau2)) + tau2 * d**2 / (2 * v * (v + tau2))
        p = np.minimum(1.0, np.exp(-log_lr))
    half = _half_width(v, tau2, alpha)
    bad = ~((m1 > 0) & (m2 > 0))
    p, low, high = (np.where(bad, np.nan, a) for a in (p, d - half, d + half))
    return p, low, high


def _half_width(v: Array, tau2: Array | float, alpha: float) -> Array:
    """The normal-mixture boundary: half-width of the (1 - alpha) confidence sequence."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.sqrt(2 * v * (v + tau2) / tau2 * (np.log(1 / alpha) + 0.5 * np.log((v + tau2) / v)))


def relative_cs(
    events_t: npt.ArrayLike, n_t: npt.ArrayLike, events_c: npt.ArrayLike, n_c: npt.ArrayLike, *,
    alpha: float = 0.05, tau: float = LOG_TAU,
) -> tuple[Array, Array]:
    """The (1 - alpha) confidence sequence (low, high) of the relative lift p_t / p_c - 1
    (fractions), valid however often it is looked at; NaN without leads or control events.
    A rate of 0 or 1 counts as half an event (as in :func:`variance`).

    >>> low, high = relative_cs(130, 1000, 100, 1000)
    >>> bool(low < 0.3 < high)
    True
    """
    x1, m1, x2, m2 = (np.asarray(a, dtype="float64") for a in (events_t, n_t, events_c, n_c))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.clip(x1 / m1, 0.5 / m1, 1 - 0.5 / m1)
        p2 = np.clip(x2 / m2, 0.5 / m2, 1 - 0.5 / m2)
        log_ratio = np.log(p1 / p2)
        w = (1 - p1) / (m1 * p1) + (1 - p2) / (m2 * p2)
    half = _half_width(w, tau**2, alpha)
    bad = ~((m1 > 0) & (m2 > 0) & (x2 > 0))
    low, high = (np.where(bad, np.nan, np.exp(log_ratio + sign * half) - 1) for sign in (-1, 1))
    return low, high
