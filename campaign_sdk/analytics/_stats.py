"""Interval estimates for rates."""

from __future__ import annotations

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def wilson_interval(successes: pd.Series, trials: pd.Series, z: float = Z95) -> tuple[pd.Series, pd.Series]:
    """95% Wilson score interval for a proportion, in percent; NaN where ``trials`` is 0.

    >>> low, high = wilson_interval(pd.Series([5]), pd.Series([10]))
    >>> round(float(low[0]), 1), round(float(high[0]), 1)
    (23.7, 76.3)
    """
    k = successes.astype("float64").to_numpy()
    n = trials.astype("float64").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0, 1) * 100, np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1) * 100, np.nan)
    return pd.Series(low, index=successes.index), pd.Series(high, index=successes.index)
