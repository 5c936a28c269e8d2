"""eval.intervals: the Wilson score interval on worked examples, and the seeded macro bootstrap."""

from __future__ import annotations

import pytest

from eval import intervals
from toolbench.errors import ToolbenchError

# Worked by hand with z = 1.959964 (z² = 3.841459):
#   0/10:  low 0; high = z²/(n + z²) = 3.841459 / 13.841459 = 0.277533
#   10/10: low = n/(n + z²) = 10 / 13.841459 = 0.722467; high 1
#   5/10:  center 0.5; half = z·sqrt(0.25/10 + z²/400) / (1 + z²/10) = 1.959964 · 0.186021 / 1.384146 = 0.263407
#   13/36: p = 0.361111, z²/n = 0.106707; center = (p + z²/72) / 1.106707 = 0.414465 / 1.106707 = 0.374502;
#          half = z·sqrt(p(1-p)/36 + z²/5184) / 1.106707 = 1.959964 · sqrt(0.00640861 + 0.00074102) / 1.106707
#               = 1.959964 · 0.0845555 / 1.106707 = 0.149747  ->  [0.224755, 0.524249]
WORKED = [
    (0, 10, 0.0, 0.277533),
    (10, 10, 0.722467, 1.0),
    (5, 10, 0.236593, 0.763407),
    (13, 36, 0.224755, 0.524249),
]


@pytest.mark.parametrize(("correct", "n", "low", "high"), WORKED)
def test_wilson_on_worked_examples(correct, n, low, high):
    got = intervals.wilson(correct, n)
    assert got == pytest.approx((low, high), abs=2e-6)


def test_wilson_edges_and_errors():
    assert intervals.wilson(0, 0) == (0.0, 1.0)
    assert intervals.wilson(0, 1)[0] == 0.0 and intervals.wilson(1, 1)[1] == 1.0
    low, high = intervals.wilson(50, 100)
    assert low < 0.5 < high and high - low < intervals.wilson(5, 10)[1] - intervals.wilson(5, 10)[0]
    with pytest.raises(ToolbenchError):
        intervals.wilson(11, 10)


def test_figure_and_percent():
    assert intervals.figure(13, 36) == {"n": 36, "correct": 13, "accuracy": 0.3611, "interval": [0.2248, 0.5242]}
    assert intervals.percent(0.3611, [0.2248, 0.5242]) == "36.1% [22.5–52.4]"
    assert intervals.percent(None) == "n/a"


def test_macro_bootstrap_is_seeded_and_brackets_the_mean():
    counts = {"simple": (30, 60), "multiple": (10, 40), "irrelevance": (0, 30)}
    mean = intervals.macro_average(counts)
    assert mean == pytest.approx((0.5 + 0.25 + 0.0) / 3)
    first = intervals.macro_bootstrap(counts)
    assert first == intervals.macro_bootstrap(dict(reversed(list(counts.items()))))  # order does not matter
    assert first == intervals.macro_bootstrap(counts, seed=0)
    assert first != intervals.macro_bootstrap(counts, seed=1)
    low, high = first
    assert 0 <= low < mean < high <= 1
    # the macro of three categories is tighter than the widest category's own interval
    assert high - low < intervals.wilson(10, 40)[1] - intervals.wilson(10, 40)[0]
    # nothing varies: the bootstrap cannot widen the point (documented)
    assert intervals.macro_bootstrap({"a": (0, 10), "b": (0, 20)}) == (0.0, 0.0)
    assert intervals.macro_bootstrap({}) == (0.0, 1.0)


# Sign test worked by hand: 10 wins, 0 losses: 2 * (1/2)^10 = 0.001953125; 6 vs 4: 2 * (1 + 10 + 45 + 120 +
# 210) / 1024 = 772/1024 = 0.75390625; 12 vs 0: 2/4096.
@pytest.mark.parametrize(("wins", "losses", "p"), [(10, 0, 0.001953125), (0, 10, 0.001953125), (6, 4, 0.75390625),
                                                   (12, 0, 2 / 4096), (5, 5, 1.0), (0, 0, 1.0)])
def test_sign_test_on_worked_examples(wins, losses, p):
    assert intervals.sign_test(wins, losses) == pytest.approx(p)


def test_paired_comparison_significant_and_not():
    # 30 queries scored 0/1 (e.g. NDCG@1): the method wins 12 first hits, loses none, ties 18: +0.4, and both the
    # paired bootstrap and the sign test say it is no accident
    base = [0.0] * 12 + [1.0] * 10 + [0.0] * 8
    better = [1.0] * 12 + [1.0] * 10 + [0.0] * 8
    got = intervals.paired_comparison(better, base)
    assert got["difference"] == pytest.approx(0.4) and (got["wins"], got["losses"], got["ties"]) == (12, 0, 18)
    assert 0.0 < got["interval"][0] < 0.4 < got["interval"][1] and got["p"] == pytest.approx(2 / 4096)
    # 3 wins and 2 losses: +1/30, the interval spans 0 and p = 1
    close = [1.0] * 3 + [0.0] * 2 + [1.0] * 10 + [0.0] * 15
    base = [0.0] * 3 + [1.0] * 2 + [1.0] * 10 + [0.0] * 15
    got = intervals.paired_comparison(close, base)
    assert got["difference"] == pytest.approx(1 / 30) and (got["wins"], got["losses"]) == (3, 2)
    assert got["interval"][0] < 0.0 < got["interval"][1] and got["p"] == 1.0
    # pairs are redrawn together: scores that vary a lot between items but always differ by 0.1 give exactly 0.1
    spread = [0.05 * i for i in range(20)]
    assert intervals.paired_bootstrap([x + 0.1 for x in spread], spread) == pytest.approx((0.1, 0.1))
    noisy = [(i * 7919 % 13) / 13 for i in range(20)]
    assert intervals.paired_bootstrap(noisy, spread) == intervals.paired_bootstrap(noisy, spread, seed=0)
    assert intervals.paired_bootstrap(noisy, spread) != intervals.paired_bootstrap(noisy, spread, seed=1)


def test_paired_statistics_errors():
    with pytest.raises(ToolbenchError, match="paired"):
        intervals.paired_bootstrap([1.0], [1.0, 0.0])
    with pytest.raises(ToolbenchError, match="no items"):
        intervals.paired_bootstrap([], [])
    with pytest.raises(ToolbenchError, match="paired"):
        intervals.paired_comparison([1.0], [])
    with pytest.raises(ToolbenchError, match="sign_test"):
        intervals.sign_test(-1, 2)
