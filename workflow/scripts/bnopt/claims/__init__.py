"""The paper's claims, each declared once: its text, the figure it is judged on, the table
columns it reads (which that figure draws), what the paper reports, the decision rule and the
function that judges it.

Tables are named "<experiment>/<family>" (results/tables/<experiment>/<family>.tsv). Every
judge returns a bnopt.claims.verdict.Verdict: an outcome (supported, contradicted,
inconclusive, not measurable) from parts that each carry an estimate with a 95% interval over
seeds and steps. `evaluate_claims` writes one row per judged part (results/claims.tsv); the
report folds them back into one row per claim. A claim's rule is written from the paper's
text and fixed before any result is looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from .. import quantities
from . import (
    dln,
    ics,
    initialisation,
    landscape,
    lp,
    noisy,
    outliers,
    stability,
    training,
    weights,
)
from .verdict import (
    CONTRADICTED,
    INCONCLUSIVE,
    INTERVAL_RULE,
    NOT_MEASURABLE,
    OUTCOMES,
    SUPPORTED,
    Verdict,
    sentence,
)

__all__ = ["CLAIMS", "CLAIM_GROUPS", "CLAIM_TABLES", "COLUMNS", "CONTRADICTED", "INCONCLUSIVE",
           "INTERVAL_RULE", "LITERATURE_GROUPS", "NOT_MEASURABLE", "OUTCOMES", "PAPER_GROUPS",
           "SUPPORTED", "Claim", "claim_tables", "evaluate_claims"]  # fmt: skip

# results/claims.tsv: one row per judged part; the claim's own fields repeat on each.
COLUMNS = [
    "claim", "experiment", "group", "figure", "outcome", "reason", "part", "statistic",
    "scale", "estimate", "low", "high", "steps", "seeds", "per_seed", "part_outcome", "paper",
    "rule",
]  # fmt: skip

CLAIM_GROUPS = {
    "training": "Training with and without BatchNorm (paper Fig 1)",
    "ics": "Internal covariate shift (paper Fig 3)",
    "landscape": "Loss landscape along the gradient (paper Fig 4)",
    "noisy": "BatchNorm with injected covariate shift: noisy BatchNorm (paper Figs 2 and 8)",
    "lp": "ℓp normalisation instead of BatchNorm (paper Figs 5 and 6)",
    "dln": "Deep linear network (paper Figs 3b, 5b, 9 and 10)",
}
# The follow-up literature's claims, each on an experiment of its own kind (beyond the paper).
LITERATURE_GROUPS = {
    "initialisation": "Beyond the paper: at initialisation (Daneshmand et al. 2020; Yang et al. "
    "2019)",
    "edge_of_stability": "Beyond the paper: the edge of stability (Cohen et al. 2021; Andreyev & "
    "Beneventano 2024)",
    "hessian_outliers": "Beyond the paper: Hessian outliers (Ghorbani, Krishnan & Xiao 2019)",
    "scale_invariance": "Beyond the paper: scale invariance of the weights (Arora, Li & Lyu "
    "2019; Li & Arora 2020)",
}
PAPER_GROUPS = dict(CLAIM_GROUPS)
CLAIM_GROUPS = {**PAPER_GROUPS, **LITERATURE_GROUPS}


@dataclass(frozen=True)
class Claim:
    claim: str
    figure: str  # the figure(s) it is judged on, comma-separated registry names
    paper: str  # what the paper reports
    rule: str
    group: str
    tables: tuple[str, ...]  # "<experiment>/<family>", the judge's arguments in order
    judge: Callable[..., Verdict]
    # "<family>:<quantity>" columns the judge reads; its figures draw every one of them
    # (bnopt.figures.FigureSpec.draws; tests/unit/test_claims.py checks).
    reads: tuple[str, ...] = ()
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

    def evaluate(self, tables: dict[str, pd.DataFrame], experiment: str | None = None) -> list:
        """One row (COLUMNS) per judged part of this claim."""
        verdict = self.judge(*[tables.get(key, pd.DataFrame()) for key in self.tables])
        return verdict_rows(self, verdict, experiment or self.group)


def verdict_rows(claim: Claim, verdict: Verdict, experiment: str) -> list[dict]:
    shared = {
        "claim": claim.claim, "experiment": experiment, "group": claim.group,
        "figure": claim.figure, "outcome": verdict.outcome, "reason": sentence(verdict),
        "paper": claim.paper, "rule": f"{claim.rule}. {INTERVAL_RULE}.",
    }  # fmt: skip
    rows = [
        {
            **shared,
            "part": part.name,
            "statistic": part.statistic,
            "scale": "log10 ratio" if part.log10 else "difference",
            "estimate": part.estimate,
            "low": part.low,
            "high": part.high,
            "steps": part.steps,
            "seeds": part.seeds,
            "per_seed": part.per_seed_text(),
            "part_outcome": part.outcome,
        }
        for part in verdict.parts
    ]
    return [{key: row[key] for key in COLUMNS} for row in rows]


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
        reads=("metrics:train_accuracy",),
    ),
    Claim(
        "At lr 0.5 the BN network trains while the standard network does not",
        "fig1_training",
        "Standard VGG at lr 0.5 stays at ~10% accuracy; BN trains to ~95-100% training "
        "accuracy and ~80% test accuracy",
        training.LARGE_LR_RULE,
        "training",
        ("training/metrics",),
        training.judge_large_lr,
        reads=("metrics:train_accuracy",),
    ),
    Claim(
        "BatchNorm does not reduce internal covariate shift (‖G − G′‖₂)",
        "fig3_ics_l2",
        "BN networks show similar or even larger ‖G − G′‖₂ than standard ones",
        ics.L2_RULE,
        "ics",
        ("ics/ics",),
        ics.judge_l2,
        reads=("ics:ics_l2",),
    ),
    Claim(
        "BatchNorm does not reduce internal covariate shift (cos(G, G′))",
        "fig4_ics_cosine",
        "cos(G, G′) with BN is similar to or lower than the standard network's",
        ics.COSINE_RULE,
        "ics",
        ("ics/ics",),
        ics.judge_cosine,
        reads=("ics:ics_cosine",),
    ),
    Claim(
        "BatchNorm does not reduce internal covariate shift relative to the gradient "
        "(‖G − G′‖₂ / ‖G‖₂)",
        "ics_relative",
        "not in the paper: its Fig 3 relative to the size of the gradient, so that the "
        "comparison does not follow ‖G‖ through the phases of training",
        ics.RELATIVE_RULE,
        "ics",
        ("ics/ics",),
        ics.judge_relative,
        reads=("ics:ics_relative",),
    ),
    Claim(
        "Early in training, the loss rises less along the gradient with BatchNorm",
        "fig5_loss_landscape",
        "Standard's loss varies over a wide range along g early in training (up to ~10); "
        "BN's stays narrow",
        landscape.LOSS_RISE_RULE,
        "landscape",
        ("landscape/metrics", "landscape/landscape"),
        landscape.judge_loss_rise,
        reads=("metrics:train_loss", "landscape:loss"),
    ),
    Claim(
        "Early in training, BatchNorm makes the gradient more predictive (smaller change)",
        "fig6_gradient_predictiveness",
        "Standard gradient change spikes to ~250; BN stays at or below ~50",
        landscape.GRAD_CHANGE_RULE,
        "landscape",
        ("landscape/metrics", "landscape/predictiveness"),
        landscape.judge_grad_change,
        reads=("predictiveness:grad_diff",),
    ),
    Claim(
        "Early in training, BatchNorm lowers the effective β-smoothness",
        "fig7_beta_smoothness, beta_and_curvature",
        "Standard effective β spikes to ~45; BN flat near ~20 (≈ 2/lr at lr 0.1, which is also "
        "1/η_min of the paper's grid)",
        landscape.BETA_RULE,
        "landscape",
        ("landscape/metrics", "landscape/predictiveness", "landscape/beta", "landscape/curvature"),
        landscape.judge_beta,
        reads=(
            "beta:effective_beta",
            "beta:grad_norm",
            "predictiveness:grad_diff",
            "curvature:lambda_max",
        ),
    ),  # fmt: skip
    Claim(
        "Noisy BatchNorm trains faster than the standard network although the moments of its "
        "layers' inputs change more from step to step",
        "noisy_bn_training, noisy_bn_moments",
        "With random shifts of each unit's mean and scale injected at every step after BN "
        "(noisy BN), the network still trains almost as well as with BN and far better than "
        "Standard, although its activation distributions are visibly less stable",
        noisy.RULE,
        "noisy",
        ("noisy/metrics", "noisy/activations"),
        noisy.judge_noisy,
        reads=("metrics:train_accuracy", "activations:mean", "activations:var"),
        always=False,
    ),
    Claim(
        "ℓ1, ℓ2 and ℓ∞ normalisation smooth the loss landscape like BatchNorm",
        "lp_landscape",
        "ℓp normalisations give a loss landscape as smooth as BN's and smoother than "
        "Standard's, although their activation distributions are not stabilised",
        lp.RULE,
        "lp",
        ("lp/metrics", "lp/landscape", "lp/predictiveness"),
        lp.judge_lp,
        reads=("metrics:train_loss", "landscape:loss", "predictiveness:grad_diff"),
        always=False,
    ),
    Claim(
        "LayerNorm and GroupNorm (per sample, no batch statistics) smooth the loss landscape "
        "like BatchNorm",
        "lp_landscape",
        "not in the paper: the question its ℓp experiment asks, for the normalisations "
        "that do not depend on the batch",
        lp.PER_SAMPLE_RULE,
        "lp",
        ("lp/metrics", "lp/landscape", "lp/predictiveness"),
        lp.judge_per_sample,
        reads=("metrics:train_loss", "landscape:loss", "predictiveness:grad_diff"),
        always=False,
        shown_for=quantities.PER_SAMPLE_NORMALIZATIONS,
    ),
    Claim(
        "Deep linear network: with BatchNorm a layer's gradient changes far more when the "
        "preceding layers update (lower cos(G, G′))",
        "dln_ics",
        "Standard DLN: cos(G, G′) ~ 1 throughout at lr 1e-6 and 1e-7; with BN the two "
        "gradients are almost uncorrelated (layers #9 and #17)",
        dln.COSINE_RULE,
        "dln",
        ("dln/ics",),
        dln.judge_cosine,
        reads=("ics:ics_cosine",),
        always=False,
    ),
    Claim(
        "Deep linear network: BatchNorm makes the landscape orders of magnitude smoother",
        "dln_landscape",
        "Standard effective β up to ~1e15 vs ~1e6-1e7 with BN (lr 1e-6)",
        dln.SMOOTHER_RULE,
        "dln",
        ("dln/predictiveness", "dln/beta"),
        dln.judge_bn_smoother,
        reads=("beta:effective_beta", "beta:grad_norm", "predictiveness:grad_diff"),
        always=False,
    ),
    Claim(
        "Deep linear network: ℓ1, ℓ2 and ℓ∞ normalisation also make the landscape far smoother",
        "dln_landscape",
        "ℓp-normalised deep linear networks have a landscape as much smoother than the "
        "standard network's as BN's",
        dln.LP_SMOOTHER_RULE,
        "dln",
        ("dln/predictiveness", "dln/beta"),
        dln.judge_lp_smoother,
        reads=("beta:effective_beta", "beta:grad_norm", "predictiveness:grad_diff"),
        always=False,
    ),
    Claim(
        "At initialisation, BatchNorm keeps the rank of deep representations high, where "
        "without it the rank collapses with depth",
        "init_signal_propagation",
        "not in the paper: Daneshmand, Kohler et al. 2020 prove that BN avoids the rank "
        "collapse of randomly initialised deep linear networks (rank at least of order "
        "√width) and observe it in non-linear ones",
        initialisation.RANK_RULE,
        "initialisation",
        ("initialisation/initialisation",),
        initialisation.judge_rank,
        reads=("initialisation:effective_rank",),
        always=False,
    ),
    Claim(
        "At initialisation, BatchNorm makes the gradient explode towards the input",
        "init_signal_propagation",
        "not in the paper: Yang et al. 2019 show that at initialisation BN causes gradient "
        "explosion, the gradient norm growing exponentially with depth (from the last layer "
        "towards the input)",
        initialisation.EXPLOSION_RULE,
        "initialisation",
        ("initialisation/initialisation",),
        initialisation.judge_explosion,
        reads=("initialisation:relative_grad_norm",),
        always=False,
    ),
    Claim(
        "The batch sharpness settles at or below the optimiser's stability threshold (2 / lr "
        "under plain SGD)",
        "edge_of_stability",
        "not in the paper: Andreyev & Beneventano 2024 find that under mini-batch SGD the "
        "batch sharpness, the curvature gᵀHg / ‖g‖² of a minibatch's loss along its own "
        "gradient, rises to 2 / lr and hovers there (the edge of stochastic stability), "
        "while λ_max may stay below; Cohen et al. 2021 found the same of λ_max under "
        "full-batch gradient descent (at (2 + 2μ) / lr with momentum μ), and Cohen et al. "
        "2022 of the preconditioned sharpness under Adam (at 38 / lr)",
        stability.BATCH_SHARPNESS_RULE,
        "edge_of_stability",
        ("edge_of_stability/metrics", "edge_of_stability/curvature"),
        stability.judge_batch_sharpness,
        reads=(
            "curvature:directional_curvature",
            "curvature:preconditioned_directional_curvature",
            "curvature:stability_threshold",
        ),
        always=False,
    ),
    Claim(
        "BatchNorm lowers the gradient's concentration in the Hessian's top eigenspace",
        "gradient_concentration",
        "not in the paper: Ghorbani, Krishnan & Xiao 2019 find large isolated outlier "
        "eigenvalues in the Hessian of networks without BN, with the gradient concentrated in "
        "their eigenspace, and that BN suppresses the outliers",
        outliers.CONCENTRATION_RULE,
        "hessian_outliers",
        ("hessian_outliers/outliers",),
        outliers.judge_concentration,
        reads=("outliers:topk_share",),
        always=False,
    ),
    Claim(
        "With BatchNorm and plain SGD, the norm of every normalised layer's weights grows, so "
        "its effective learning rate falls",
        "weight_norms",
        "not in the paper: Arora, Li & Lyu 2019 show that for a scale-invariant weight "
        "(a layer followed by BN) SGD without weight decay only increases ‖W‖, which "
        "lowers the effective learning rate lr / ‖W‖² (auto rate-tuning); Li & Arora 2020 "
        "build on it",
        weights.GROWTH_RULE,
        "scale_invariance",
        ("scale_invariance/weights",),
        weights.judge_growth,
        reads=("weights:weight_norm",),
        always=False,
    ),
    Claim(
        "Early in training, BatchNorm's lower λ_max survives the weight-norm correction",
        "relative_sharpness",
        "not in the paper: BN's hidden layers are scale-invariant, so its Hessian scales as "
        "1 / ‖W‖² and a smaller λ_max can reflect larger weights rather than a smoother "
        "landscape (Li & Arora 2020; Lyu, Li & Arora 2022); measured per unit of relative "
        "perturbation of each weight layer, the comparison no longer depends on the norms",
        weights.RELATIVE_SHARPNESS_RULE,
        "scale_invariance",
        ("scale_invariance/metrics", "scale_invariance/curvature"),
        weights.judge_relative_sharpness,
        reads=("curvature:relative_lambda_max",),
        always=False,
    ),
)
# Every table a claim reads, for the report rule's inputs.
CLAIM_TABLES = tuple(dict.fromkeys(key for claim in CLAIMS for key in claim.tables))


def claim_tables(kinds: dict[str, str]) -> tuple[str, ...]:
    """Every table a claim reads: the paper's experiments' (CLAIM_TABLES), the follow-up
    literature's when its experiment is in `kinds`, and the same families of every other
    experiment of a kind (bnopt.runs.experiment_kinds)."""
    paper = [key for key in CLAIM_TABLES if key.split("/")[0] in PAPER_GROUPS]
    keys = paper + [key for key in CLAIM_TABLES if key.split("/")[0] in kinds and key not in paper]
    for experiment, kind in kinds.items():
        if experiment != kind:
            keys += [f"{experiment}/{key.split('/')[1]}" for key in CLAIM_TABLES
                     if key.split("/")[0] == kind]  # fmt: skip
    return tuple(dict.fromkeys(keys))


def evaluate_claims(
    tables: dict[str, pd.DataFrame], kinds: dict[str, str] | None = None
) -> pd.DataFrame:
    """The rows of results/claims.tsv (COLUMNS), one per judged part, claims in figure
    order: the paper's main claims always (a missing table makes them 'not measurable'), the
    others when one of their tables is given (and, beyond the paper, its normalisations ran).
    Then, for every other experiment of a kind (`kinds`, experiment -> kind), the claims of
    that kind judged by the same rules on its own tables, named after it and grouped under it."""
    rows = [row for claim in CLAIMS if claim.applies(tables) for row in claim.evaluate(tables)]
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
            names = [name.strip() for name in claim.figure.split(",")]
            for row in claim.evaluate(own, experiment):
                row.update(
                    claim=f"{claim.claim} ({experiment})",
                    figure=", ".join(f"{experiment}/{name}" for name in names),
                    group=experiment,
                )
                rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def read_claims(path) -> pd.DataFrame:
    """results/claims.tsv as written by evaluate_claims (empty text cells as "")."""
    frame = pd.read_csv(path, sep="\t", keep_default_na=False, na_values={
        column: ["", "nan", "NaN"] for column in ("estimate", "low", "high")})  # fmt: skip
    for column in ("estimate", "low", "high"):
        frame[column] = frame[column].astype(float)
    return frame


def write_claims(claims: pd.DataFrame, path) -> None:
    from ..files import write_text

    write_text(path, claims.to_csv(sep="\t", index=False, float_format="%.6g", na_rep="nan"))
