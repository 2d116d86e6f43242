"""The one verdict model of every claim: a paired comparison of the plotted quantity between
two arms, an estimate with a 95% interval over seeds and steps, and three outcomes.

A claim is judged in parts (`Part`). A part pairs the two arms' values of the quantity its
figure draws, unit by unit (one unit = one probed or logged step of one panel: a learning
rate, a layer), seed by seed. Per seed the part's statistic is computed from that seed's
units (the mean of the per-unit difference, or the difference of the window's peaks); the
estimate is the mean of the per-seed statistics. Its interval is a percentile bootstrap
(RESAMPLES times, from a generator seeded with BOOTSTRAP_SEED, so a verdict is the same on
every rerun). For a mean it has two levels: seeds drawn with replacement, then each drawn
seed's units drawn with replacement. With one seed the interval covers step-to-step
variation only, and steps of one run are not independent, so it is then narrower than a
seed-to-seed interval (the reason says so). A window's peak is observed, not sampled (a
resample's maximum can never exceed it), so a peak is resampled over seeds only and needs
at least two. With two seeds the interval is about the span of their two estimates: supported
then means both seeds on the paper's side.

The outcome is SUPPORTED when the whole interval lies on the paper's side of zero,
CONTRADICTED when it lies entirely on the other side, INCONCLUSIVE when it contains zero,
and NOT_MEASURABLE (with the reason) when fewer than MIN_UNITS paired units exist. There is
no threshold on the statistic. A unit where a value is not finite (a step that blew up)
cannot enter a mean; it is left out only when it could not change the outcome (it points to
the side the finite units already decide), else the part is inconclusive and says why.
Parts combine in two ways: `all_of` for a claim that says several things at once (any part
contradicted contradicts it; all supported support it), and `agree` for the same part read
with and without steps excluded for a stated reason (when the outcomes differ, the claim is
inconclusive and says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_MEASURABLE = "not measurable"
OUTCOMES = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_MEASURABLE)

LEVEL = 0.95
RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CHUNK = 200  # bootstrap replicates drawn at once
MIN_UNITS = 3  # paired units (over all seeds) a part needs before it is judged

LOWER, HIGHER = "lower", "higher"  # the paper's side: the first arm's value is lower/higher

INTERVAL_RULE = (
    f"Estimate = mean over seeds of the per-seed statistic; {LEVEL:.0%} interval = percentile "
    f"bootstrap over seeds and, within each seed, over its paired steps ({RESAMPLES} resamples, "
    f"fixed generator seed). Supported if the interval lies entirely on the paper's side of 0, "
    f"contradicted if entirely on the other side, inconclusive if it contains 0; not "
    f"measurable with fewer than {MIN_UNITS} paired steps"
)


@dataclass(frozen=True)
class Part:
    """One judged comparison: its statistic in words, estimate, interval and outcome."""

    name: str
    statistic: str
    side: str  # LOWER or HIGHER: where the paper puts the first arm
    estimate: float = np.nan
    low: float = np.nan
    high: float = np.nan
    steps: int = 0  # paired units over all seeds
    seeds: int = 0
    outcome: str = NOT_MEASURABLE
    reason: str = ""
    log10: bool = False  # the statistic is a log10 ratio: shown as a factor
    per_seed: tuple[tuple[object, float], ...] = ()  # (seed, the seed's statistic)

    def per_seed_text(self) -> str:
        show = (lambda v: f"×{factor(v)}") if self.log10 else (lambda v: f"{v:+.3g}")
        return "; ".join(f"seed {seed}: {show(value)}" for seed, value in self.per_seed)

    def interval_text(self) -> str:
        if not np.isfinite(self.estimate):
            return "n/a"
        if self.log10:
            return f"×{factor(self.estimate)} [×{factor(self.low)}, ×{factor(self.high)}]"
        return f"{self.estimate:+.3g} [{self.low:+.3g}, {self.high:+.3g}]"


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reason: str
    parts: tuple[Part, ...]


def factor(log10_value: float) -> str:
    return f"{10.0**log10_value:.3g}" if np.isfinite(log10_value) else "n/a"


# Per-seed statistics on paired arrays a (first arm), b (second arm), shape (..., n).


def mean_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a - b).mean(axis=-1)


def peak_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a.max(axis=-1) - b.max(axis=-1)


STATISTICS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mean": mean_difference,
    "peak": peak_difference,
}


def per_seed_statistics(
    units: Mapping[object, tuple[np.ndarray, np.ndarray]], statistic: str = "mean"
) -> dict:
    reduce = STATISTICS[statistic]
    return {
        seed: float(reduce(*(np.asarray(x, dtype=float) for x in units[seed])))
        for seed in units
        if len(units[seed][0])
    }


def bootstrap(
    units: Mapping[object, tuple[np.ndarray, np.ndarray]], statistic: str = "mean"
) -> tuple[float, float, float]:
    """(estimate, low, high) of the mean over seeds of `statistic` on each seed's paired
    units {seed: (a, b)} (already transformed, e.g. log10): for a mean by the two-level
    bootstrap, for a peak by resampling seeds only."""
    reduce = STATISTICS[statistic]
    seeds = [seed for seed in units if len(units[seed][0])]
    per_seed = np.array([reduce(*units[seed]) for seed in seeds], dtype=float)
    estimate = float(per_seed.mean())
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    count = len(seeds)
    chosen = rng.integers(0, count, size=(RESAMPLES, count))
    tail = 100 * (1 - LEVEL) / 2
    if statistic == "peak":
        low, high = np.percentile(per_seed[chosen].mean(axis=1), [tail, 100 - tail])
        return estimate, float(low), float(high)
    # Every (replicate, slot) gets its own resample of its seed's units; in chunks of
    # replicates, so that a paper-scale window (thousands of steps) stays small in memory.
    draws = np.empty((RESAMPLES, count))
    for index, seed in enumerate(seeds):
        a, b = (np.asarray(x, dtype=float) for x in units[seed])
        for start in range(0, RESAMPLES, CHUNK):
            rows = slice(start, min(start + CHUNK, RESAMPLES))
            picks = rng.integers(0, len(a), size=(rows.stop - rows.start, count, len(a)))
            values = reduce(a[picks], b[picks])
            draws[rows] = np.where(chosen[rows] == index, values, draws[rows])
    replicates = draws.mean(axis=1)
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return estimate, float(low), float(high)


def outcome_of(low: float, high: float, side: str) -> str:
    if side == LOWER:
        return SUPPORTED if high < 0 else CONTRADICTED if low > 0 else INCONCLUSIVE
    return SUPPORTED if low > 0 else CONTRADICTED if high < 0 else INCONCLUSIVE


SIDE_WORDS = {LOWER: "below", HIGHER: "above"}
OTHER_SIDE = {LOWER: HIGHER, HIGHER: LOWER}
OUTCOME_WORDS = {
    SUPPORTED: "Supported",
    CONTRADICTED: "Contradicted",
    INCONCLUSIVE: "Inconclusive",
    NOT_MEASURABLE: "Not measurable",
}


def judge_part(
    name: str,
    statistic_text: str,
    side: str,
    units: Mapping[object, tuple[Iterable[float], Iterable[float]]],
    statistic: str = "mean",
    log10: bool = False,
    missing: str = "",
    unit: str = "step",
) -> Part:
    """A part judged on paired units {seed: (first arm's values, second arm's values)}.

    A unit is used where both values are finite (and, with `log10`, positive: the statistic
    is then a difference of log10 values, a log ratio). A unit where one arm's value is not
    finite (+inf or NaN: a step that blew up) counts as that arm's value being the larger;
    see the module's docstring for when it may be left out.
    """
    part = Part(name, statistic_text, side, log10=log10)
    cleaned, blown = {}, {HIGHER: 0, LOWER: 0}
    for seed, (a, b) in units.items():
        a, b = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
        finite = np.isfinite(a) & np.isfinite(b)
        blown[HIGHER] += int((~np.isfinite(a) & np.isfinite(b)).sum())  # a blew up: a higher
        blown[LOWER] += int((np.isfinite(a) & ~np.isfinite(b)).sum())
        keep = finite & (a > 0) & (b > 0) if log10 else finite
        if log10:
            a, b = np.log10(np.where(keep, a, 1.0)), np.log10(np.where(keep, b, 1.0))
        if keep.any():
            cleaned[seed] = (a[keep], b[keep])
    steps = sum(len(a) for a, _ in cleaned.values())
    seeds_text = f"{len(cleaned)} seed{'s' if len(cleaned) != 1 else ''}"
    if steps < MIN_UNITS or (statistic == "peak" and len(cleaned) < 2):
        why = missing or (
            f"{steps} paired {unit}s (fewer than {MIN_UNITS})"
            if steps < MIN_UNITS
            else f"{seeds_text}: a window's peak is compared over seeds, at least 2"
        )
        return replace(part, steps=steps, seeds=len(cleaned), reason=f"{name}: {why}")
    estimate, low, high = bootstrap(cleaned, statistic)
    outcome = outcome_of(low, high, side)
    null = "×1" if log10 else "0"
    where = {
        SUPPORTED: f"{SIDE_WORDS[side]} {null} as the paper says",
        CONTRADICTED: f"{SIDE_WORDS[OTHER_SIDE[side]]} {null}, against the paper",
        INCONCLUSIVE: f"contains {null}",
    }[outcome]
    one_seed = f" (one seed: the interval covers {unit}-to-{unit} variation only)" * (
        len(cleaned) == 1
    )
    reason = (
        f"{name} {factor_or_number(estimate, low, high, log10)} ({steps} paired {unit}s, "
        f"{seeds_text}{one_seed}): interval {where}"
    )
    decided = {SUPPORTED: side, CONTRADICTED: OTHER_SIDE[side]}.get(outcome)
    pointing = [direction for direction, count in blown.items() if count]
    if pointing and pointing != [decided]:
        outcome = INCONCLUSIVE
        counts = ", ".join(
            f"{count} where the {'first' if d == HIGHER else 'second'} arm's value is not finite"
            for d, count in blown.items()
            if count
        )
        reason += f"; but {counts} (left out of the mean) could change it"
    elif pointing:
        reason += (
            f"; {sum(blown.values())} steps with a value that is not finite point the same way"
        )
    per_seed = tuple(per_seed_statistics(cleaned, statistic).items())
    return replace(
        part, estimate=estimate, low=low, high=high, steps=steps, seeds=len(cleaned),
        outcome=outcome, reason=reason, per_seed=per_seed,
    )  # fmt: skip


def factor_or_number(estimate: float, low: float, high: float, log10: bool) -> str:
    if log10:
        return f"×{factor(estimate)} [×{factor(low)}, ×{factor(high)}]"
    return f"{estimate:+.3g} [{low:+.3g}, {high:+.3g}]"


def all_of(parts: Iterable[Part]) -> Verdict:
    """A claim that says all of its parts: contradicted if any part is, supported if all are."""
    return combine(Verdict(part.outcome, part.reason, (part,)) for part in parts)


def agree(parts: Iterable[Part], what: str) -> Verdict:
    """The same comparison read several ways (e.g. with and without steps left out for a
    stated reason): their shared outcome, or inconclusive when `what` changes it (or when
    one reading cannot be judged: then the outcome cannot be shown not to depend on it)."""
    parts = tuple(parts)
    outcomes = {part.outcome for part in parts}
    if len(outcomes) == 1:
        return Verdict(parts[0].outcome, "; ".join(part.reason for part in parts), parts)
    unmeasured = [part for part in parts if part.outcome == NOT_MEASURABLE]
    if unmeasured:
        reason = (
            f"{what} leaves a reading that cannot be judged, so the outcome cannot be shown "
            "not to depend on it: " + "; ".join(part.reason for part in parts)
        )
    else:
        reason = f"{what} changes the outcome: " + "; ".join(part.reason for part in parts)
    return Verdict(INCONCLUSIVE, reason, parts)


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """All of several verdicts (each of one or more parts): contradicted if any is, else not
    measurable if any is, else inconclusive if any is, else supported."""
    verdicts = tuple(verdicts)
    parts = tuple(part for verdict in verdicts for part in verdict.parts)
    if not verdicts:
        return Verdict(NOT_MEASURABLE, "nothing to compare", parts)
    outcomes = [verdict.outcome for verdict in verdicts]
    outcome = next(
        (o for o in (CONTRADICTED, NOT_MEASURABLE, INCONCLUSIVE) if o in outcomes), SUPPORTED
    )
    deciding = [v.reason for v in verdicts if v.outcome == outcome]
    return Verdict(outcome, "; ".join(deciding), parts)


def sentence(verdict: Verdict) -> str:
    """The verdict as the report and claims.tsv state it: its outcome, then the parts that
    decided it."""
    return f"{OUTCOME_WORDS[verdict.outcome]}: {verdict.reason}."
