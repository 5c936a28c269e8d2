"""95% intervals for accuracy figures, so a reader sees what a sample size allows.

- **A proportion** (one category's accuracy, or the micro average over every entry): the Wilson score interval
  (:func:`wilson`). Unlike the normal ("Wald") interval it stays inside [0, 1] and does not collapse to a point
  at 0/n or n/n: 0 correct of 10 gives [0, 27.8%], which says what ten entries can and cannot show.
- **A macro average** (the unweighted mean of per-category accuracies): a seeded, stratified percentile
  bootstrap (:func:`macro_bootstrap`). Each replicate redraws every category's n outcomes with replacement from
  its own observed outcomes (equivalently, correct* ~ Binomial(n, correct/n)), keeping each category's n, and
  takes the unweighted mean of the replicate accuracies; the interval is the 2.5th and 97.5th percentiles of
  2,000 replicates (seed 0 by default, so a rerun prints the same interval). Chosen over the standard-error
  combination (sqrt(sum p_i(1-p_i)/n_i) / K, a normal interval) because that one leaves [0, 1] for skewed
  accuracies. Like any bootstrap it cannot widen a result with no variation at all: when every category scores
  0% (or every one 100%) the macro interval is the point itself, and the per-category Wilson intervals are the
  figures that say how sure that is.
- **A paired difference** (two methods scored on the same items, e.g. a retriever against BM25 query by query):
  the mean per-item difference with a seeded percentile bootstrap over items (:func:`paired_bootstrap`: each
  replicate redraws n items with replacement and keeps both methods' scores of an item together, so what the
  items share cancels), and an exact two-sided sign test on the items where the methods differ
  (:func:`sign_test`; ties dropped; for 0/1 scores such as NDCG@1 this is the exact McNemar test on the
  discordant items). :func:`paired_comparison` gives all of it at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from toolbench.errors import ToolbenchError

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution
BOOTSTRAP_REPLICATES = 2000
BOOTSTRAP_SEED = 0


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of ``correct`` successes in ``n`` trials, as (low, high).

    ``center = (p + z²/2n) / (1 + z²/n)``, ``half = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)``. With n = 0 nothing
    is known: (0.0, 1.0).
    """
    if n < 0 or correct < 0 or correct > n:
        raise ToolbenchError(f"wilson: need 0 <= correct <= n; got correct={correct}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # exact ends at 0/n and n/n (the formula gives them up to rounding)
    low = 0.0 if correct == 0 else max(0.0, center - half)
    high = 1.0 if correct == n else min(1.0, center + half)
    return low, high


def macro_bootstrap(counts: Mapping[str, tuple[int, int]] | Sequence[tuple[int, int]], *,
                    replicates: int = BOOTSTRAP_REPLICATES, seed: int = BOOTSTRAP_SEED,
                    level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of the macro average over categories given as ``(correct, n)`` (a mapping by
    category, or a sequence), from a seeded stratified bootstrap (see the module docstring)."""
    import numpy as np

    # a mapping is read in sorted key order, so the interval does not depend on the order categories come in
    pairs = [counts[key] for key in sorted(counts)] if isinstance(counts, Mapping) else list(counts)
    pairs = [(int(c), int(n)) for c, n in pairs if int(n) > 0]
    if not pairs:
        return 0.0, 1.0
    for correct, n in pairs:
        if not 0 <= correct <= n:
            raise ToolbenchError(f"macro_bootstrap: need 0 <= correct <= n; got ({correct}, {n})")
    rng = np.random.default_rng(seed)
    ns = np.array([n for _, n in pairs])
    ps = np.array([c / n for c, n in pairs])
    draws = rng.binomial(ns, ps, size=(replicates, len(pairs))) / ns
    means = draws.mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(max(0.0, low)), float(min(1.0, high))


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, replicates: int = BOOTSTRAP_REPLICATES,
                     seed: int = BOOTSTRAP_SEED, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of ``mean(a) - mean(b)`` over paired items (``a[i]`` and ``b[i]`` scored on item
    i), from a seeded bootstrap that redraws items with replacement (see the module docstring)."""
    import numpy as np

    if len(a) != len(b):
        raise ToolbenchError(f"paired_bootstrap: need paired scores; got {len(a)} and {len(b)}")
    if not a:
        raise ToolbenchError("paired_bootstrap: no items")
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(replicates, len(diff)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def sign_test(wins: int, losses: int) -> float:
    """The exact two-sided sign test p-value of ``wins`` against ``losses`` (ties left out): twice the binomial
    (n = wins + losses, 1/2) probability of a split at least as uneven, capped at 1; 1.0 with no untied item."""
    if wins < 0 or losses < 0:
        raise ToolbenchError(f"sign_test: need counts >= 0; got wins={wins}, losses={losses}")
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1))
    return min(1.0, 2 * tail / 2 ** n)


def paired_comparison(a: Sequence[float], b: Sequence[float], *, replicates: int = BOOTSTRAP_REPLICATES,
                      seed: int = BOOTSTRAP_SEED) -> dict[str, Any]:
    """Method ``a`` against ``b`` on paired items: ``{"n", "difference" (mean of a - b), "interval" (95%,
    :func:`paired_bootstrap`), "wins", "losses", "ties", "p" (:func:`sign_test`)}``."""
    if len(a) != len(b):
        raise ToolbenchError(f"paired_comparison: need paired scores; got {len(a)} and {len(b)}")
    wins = sum(1 for x, y in zip(a, b) if x > y)
    losses = sum(1 for x, y in zip(a, b) if x < y)
    low, high = paired_bootstrap(a, b, replicates=replicates, seed=seed)
    return {"n": len(a), "difference": (sum(a) - sum(b)) / len(a), "interval": [low, high], "wins": wins,
            "losses": losses, "ties": len(a) - wins - losses, "p": sign_test(wins, losses)}


def macro_average(counts: Mapping[str, tuple[int, int]]) -> float | None:
    """The unweighted mean of the per-category accuracies (categories with n = 0 left out)."""
    values = [c / n for c, n in counts.values() if n]
    return sum(values) / len(values) if values else None


def figure(correct: int, n: int) -> dict[str, Any]:
    """``{"n", "correct", "accuracy", "interval": [low, high]}`` for a proportion (Wilson, 95%), rounded to 4
    places."""
    low, high = wilson(correct, n)
    return {"n": n, "correct": correct, "accuracy": round(correct / n, 4) if n else None,
            "interval": [round(low, 4), round(high, 4)]}


def percent(value: float | None, interval: Sequence[float] | None = None, digits: int = 1) -> str:
    """``"36.1% [27.4–45.8]"`` (or ``"n/a"``)."""
    if value is None:
        return "n/a"
    text = f"{100 * value:.{digits}f}%"
    if interval is not None:
        text += f" [{100 * interval[0]:.{digits}f}–{100 * interval[1]:.{digits}f}]"
    return text
