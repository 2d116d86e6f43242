"""The paper's claims, each declared once: its text, the figure it is judged on, what the
paper reports, the decision rule, the tables it reads and the function that judges it.

Tables are named "<experiment>/<family>" (results/tables/<experiment>/<family>.tsv). The
shared machinery (pairing by seed and step, the early-training window, the verdict across
seeds) is in bnopt.claims.core; the judges are split by experiment like the figures.
A claim's rule is written from the paper's text and fixed before any result is looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from . import core, dln, ics, landscape, lp, noisy, training
from .core import COLUMNS, HELD, NOT_HELD, NOT_MEASURABLE, VERDICTS, Judgement

__all__ = ["CLAIMS", "CLAIM_GROUPS", "CLAIM_TABLES", "COLUMNS", "HELD", "NOT_HELD",
           "NOT_MEASURABLE", "VERDICTS", "Claim", "claim_tables", "evaluate_claims"]  # fmt: skip

CLAIM_GROUPS = {
    "training": "Training with and without BatchNorm (paper Fig 1)",
    "ics": "Internal covariate shift (paper Fig 3)",
    "landscape": "Loss landscape along the gradient (paper Fig 4)",
    "noisy": "BatchNorm with injected covariate shift: noisy BatchNorm (paper Figs 2 and 8)",
    "lp": "ℓp normalisation instead of BatchNorm (paper Figs 5 and 6)",
    "dln": "Deep linear network (paper Figs 3b, 5b, 9 and 10)",
}


@dataclass(frozen=True)
class Claim:
    claim: str
    figure: str  # the figure(s) it is judged on, comma-separated registry names
    paper: str  # what the paper reports
    rule: str
    group: str
    tables: tuple[str, ...]  # "<experiment>/<family>", the judge's arguments in order
    judge: Callable[..., Judgement]
    always: bool = True  # a row even without its tables (else only when one is given)
    # Beyond the paper: a row only when one of these normalisations was run.
    shown_for: tuple[str, ...] = ()

    def applies(self, tables: dict[str, pd.DataFrame]) -> bool:
        if self.always:
            return True
        given = [tables[key] for key in self.tables if key in tables]
        if not self.shown_for:
            return bool(given)
        return any(
            not frame.empty and frame["normalization"].isin(self.shown_for).any() for frame in given
        )

    def evaluate(self, tables: dict[str, pd.DataFrame]) -> dict:
        judgement = self.judge(*[tables.get(key, pd.DataFrame()) for key in self.tables])
        return {
            "claim": self.claim,
            "figure": self.figure,
            "statistic": judgement.statistic,
            "paper": self.paper,
            "rule": self.rule,
            "verdict": judgement.verdict,
            "reading": judgement.reading,
            "group": self.group,
        }


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "BatchNorm trains faster than the standard network at lr 0.1",
        "fig1_training",
        "BN > 80% training accuracy by ~1k steps at lr 0.1; Standard clearly slower, both "
        "reach ~100% eventually",
        training.FASTER_RULE,
        "training",
        ("training/metrics",),
        training.judge_faster,
    ),
    Claim(
        "The standard network fails to train at lr 0.5 while the BN network trains",
        "fig1_training",
        "Standard VGG at lr 0.5 stays at ~10% accuracy; BN trains to ~95-100% training "
        "accuracy and ~80% test accuracy",
        training.LARGE_LR_RULE,
        "training",
        ("training/metrics",),
        training.judge_large_lr,
    ),
    Claim(
        "BatchNorm does not reduce internal covariate shift (‖G − G′‖₂ relative to ‖G‖₂)",
        "ics_relative, fig3_ics_l2",
        "BN networks show similar or even larger ‖G − G′‖₂ than standard ones",
        ics.RELATIVE_RULE,
        "ics",
        ("ics/ics",),
        ics.judge_relative_ics,
    ),
    Claim(
        "BatchNorm does not reduce internal covariate shift (cos(G, G′))",
        "fig4_ics_cosine",
        "cos(G, G′) with BN is similar to or lower than the standard network's",
        ics.COSINE_RULE,
        "ics",
        ("ics/ics",),
        ics.judge_cosine,
    ),
    Claim(
        "Early in training, BatchNorm narrows the range of the loss along the gradient",
        "fig5_loss_landscape",
        "Standard loss range up to ~10 early in training; BN narrow",
        landscape.LOSS_RANGE_RULE,
        "landscape",
        ("landscape/metrics", "landscape/landscape"),
        landscape.judge_loss_range,
    ),
    Claim(
        "Early in training, BatchNorm makes the gradient more predictive (smaller change)",
        "fig6_gradient_predictiveness, grad_change_vs_eta",
        "Standard gradient change spikes to ~250; BN stays at or below ~50",
        landscape.GRAD_CHANGE_RULE,
        "landscape",
        ("landscape/metrics", "landscape/predictiveness"),
        landscape.judge_grad_change,
    ),
    Claim(
        "Early in training, BatchNorm lowers the effective β-smoothness",
        "fig7_beta_smoothness, beta_and_curvature",
        "Standard effective β spikes to ~45; BN flat near ~20 (≈ 2/lr at lr 0.1, which is also "
        "1/η_min of the paper's grid)",
        landscape.BETA_RULE,
        "landscape",
        ("landscape/metrics", "landscape/predictiveness", "landscape/beta"),
        landscape.judge_beta,
    ),
    Claim(
        "Noisy BatchNorm trains about as well as BatchNorm although its activation "
        "distributions are less stable than the standard network's",
        "noisy_bn_training, noisy_bn_moments",
        "With random shifts of each unit's mean and scale injected at every step after BN "
        "(noisy BN), the network still trains almost as well as with BN and far better than "
        "Standard, although its activation distributions are visibly less stable",
        noisy.RULE,
        "noisy",
        ("noisy/metrics", "noisy/activations"),
        noisy.judge_noisy,
        always=False,
    ),
    Claim(
        "ℓ1, ℓ2 and ℓ∞ normalisation smooth the loss landscape about as much as BatchNorm",
        "lp_landscape",
        "ℓp normalisations give a loss landscape as smooth as BN's and smoother than "
        "Standard's, although their activation distributions are not stabilised",
        lp.RULE,
        "lp",
        ("lp/metrics", "lp/landscape", "lp/predictiveness"),
        lp.judge_lp,
        always=False,
    ),
    Claim(
        "LayerNorm and GroupNorm (per sample, no batch statistics) smooth the loss landscape "
        "about as much as BatchNorm",
        "lp_landscape",
        "not in the paper: the question its ℓp experiment asks, for the normalisations "
        "that do not depend on the batch",
        lp.PER_SAMPLE_RULE,
        "lp",
        ("lp/metrics", "lp/landscape", "lp/predictiveness"),
        lp.judge_per_sample,
        always=False,
        shown_for=core.PER_SAMPLE_NORMALIZATIONS,
    ),
    Claim(
        "Deep linear network: without BatchNorm a layer's gradient barely changes when the "
        "preceding layers update (cos(G, G′) ≈ 1); with BatchNorm it changes a lot",
        "dln_ics",
        "Standard DLN: cos(G, G′) ~ 1 throughout at lr 1e-6 and 1e-7; with BN the two "
        "gradients are almost uncorrelated (layers #9 and #17)",
        dln.COSINE_RULE,
        "dln",
        ("dln/ics",),
        dln.judge_cosine,
        always=False,
    ),
    Claim(
        "Deep linear network: BatchNorm makes the landscape orders of magnitude smoother",
        "dln_landscape",
        "Standard effective β up to ~1e15 vs ~1e6-1e7 with BN (lr 1e-6)",
        dln.SMOOTHER_RULE,
        "dln",
        ("dln/beta",),
        dln.judge_bn_smoother,
        always=False,
    ),
    Claim(
        "Deep linear network: ℓ1, ℓ2 and ℓ∞ normalisation also make the landscape far smoother",
        "dln_landscape",
        "ℓp-normalised deep linear networks have a landscape as much smoother than the "
        "standard network's as BN's",
        dln.LP_SMOOTHER_RULE,
        "dln",
        ("dln/beta",),
        dln.judge_lp_smoother,
        always=False,
    ),
)
# Every table a claim reads, for the report rule's inputs.
CLAIM_TABLES = tuple(dict.fromkeys(key for claim in CLAIMS for key in claim.tables))


def claim_tables(kinds: dict[str, str]) -> tuple[str, ...]:
    """Every table a claim reads: the paper's experiments' (CLAIM_TABLES), and the same
    families of every other experiment of a kind (bnopt.runs.experiment_kinds)."""
    keys = list(CLAIM_TABLES)
    for experiment, kind in kinds.items():
        if experiment != kind:
            keys += [f"{experiment}/{key.split('/')[1]}" for key in CLAIM_TABLES
                     if key.split("/")[0] == kind]  # fmt: skip
    return tuple(dict.fromkeys(keys))


def evaluate_claims(
    tables: dict[str, pd.DataFrame], kinds: dict[str, str] | None = None
) -> pd.DataFrame:
    """One row per claim, in figure order: the paper's main claims always (a missing table
    makes them 'not measurable at this scale'), the others when one of their tables is given
    (and, beyond the paper, its normalisations ran). Then, for every other experiment of a
    kind (`kinds`, experiment -> kind), the claims of that kind judged by the same rules on
    its own tables, named after it and grouped under it."""
    rows = [claim.evaluate(tables) for claim in CLAIMS if claim.applies(tables)]
    for experiment, kind in (kinds or {}).items():
        if experiment == kind:
            continue
        for claim in CLAIMS:
            if claim.group != kind:
                continue
            own = {
                key: tables[mapped]
                for key in claim.tables
                if (mapped := f"{experiment}/{key.split('/')[1]}") in tables
            }
            if claim.shown_for and not replace(claim, always=False).applies(own):
                continue
            row = claim.evaluate(own)
            names = [name.strip() for name in claim.figure.split(",")]
            row.update(
                claim=f"{claim.claim} ({experiment})",
                figure=", ".join(f"{experiment}/{name}" for name in names),
                group=experiment,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
