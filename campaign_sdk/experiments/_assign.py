"""Deterministic assignment of users to experiment arms.

A user's arm is a pure function of the campaign's experiment seed and the user's E.164 phone
number: BLAKE2b of ``"<seed>|<phone>"`` read as a number u in [0, 1). The same user gets the same
arm on SQLite and PostgreSQL, in every process and after every re-load, resend or crash (Python's
``hash()`` is salted per process and would not). u is split into nested intervals:

- [0, h): the campaign's holdout (control, never sent);
- the rest is rescaled to v in [0, 1): v < t is the test phase (t = ``test_fraction``, 1 without
  one), else ``rest`` (sent the winning variant later, by ``send_winner``);
- test leads are rescaled again to w in [0, 1) and split by the variants' cumulative weights.

So the planned share of arm i is (1 - h) * t * w_i. The global holdout uses its own seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

HOLDOUT = "holdout"
GLOBAL_HOLDOUT = "global_holdout"
REST = "rest"
RESERVED = (HOLDOUT, GLOBAL_HOLDOUT, REST)
_SCALE = float(1 << 64)


def unit(seed: str, key: str) -> float:
    """The user's uniform number in [0, 1) for ``seed`` (BLAKE2b, 64 bits).

    >>> unit("spring-test", "+14155552671") == unit("spring-test", "+14155552671")
    True
    """
    digest = hashlib.blake2b(f"{seed}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def arm_of(u: float, weights: Mapping[str, float], *, holdout: float | None, test_fraction: float | None) -> str:
    """The arm of the user whose uniform number is ``u`` (see the module docstring)."""
    h = holdout or 0.0
    if u < h:
        return HOLDOUT
    v = (u - h) / (1 - h)
    t = 1.0 if test_fraction is None else test_fraction
    if v >= t:
        return REST
    w = v / t
    total = 0.0
    names = list(weights)
    for name in names:
        total += weights[name]
        if w < total:
            return name
    return names[-1]  # w just below 1 with weights summing to 1 - 1e-12


def assign(
    seed: str, keys: Iterable[str], weights: Mapping[str, float], *,
    holdout: float | None = None, test_fraction: float | None = None,
) -> list[str]:
    """The arm of every user key (phone number), in order.

    >>> assign("s", ["+14155552671", "+14155552672"], {"A": 0.5, "B": 0.5})
    ['B', 'A']
    """
    return [arm_of(unit(seed, k), weights, holdout=holdout, test_fraction=test_fraction) for k in keys]


def planned_shares(
    weights: Mapping[str, float], *, holdout: float | None, test_fraction: float | None
) -> dict[str, float]:
    """The share of leads each arm should get (the sample-ratio-mismatch check's expectation)."""
    h = holdout or 0.0
    t = 1.0 if test_fraction is None else test_fraction
    shares = {name: (1 - h) * t * w for name, w in weights.items()}
    if h:
        shares[HOLDOUT] = h
    if t < 1:
        shares[REST] = (1 - h) * (1 - t)
    return shares


def globally_held_out(seed: str, fraction: float, keys: Sequence[str]) -> list[bool]:
    """Whether each user is in the global holdout of ``seed`` and ``fraction``."""
    return [unit(seed, k) < fraction for k in keys]
