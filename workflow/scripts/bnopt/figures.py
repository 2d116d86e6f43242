"""The registry of figures: every figure of the workflow, declared once.

An entry names the figure (its file name under results/figures/), the experiment whose
tables it reads (results/tables/<experiment>/<table>.tsv), the draw function, the category
of both reports and the paper's figure number. Its caption is the one file
workflow/report/<name>.rst, read by this workflow's report and by `snakemake --report`.
The figure rule, the report's list and the tests all iterate this registry. Kept free of
plotting imports, so that parsing the workflow stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

CAPTIONS = Path(__file__).resolve().parents[2] / "report"


@dataclass(frozen=True)
class FigureSpec:
    name: str
    experiment: str
    tables: tuple[str, ...]
    draw: str  # "<module of bnopt.plots>.<function>", imported only to draw
    category: str
    paper: str  # the paper's figure number, or "not in the paper"
    on_request: bool = False  # drawn only when asked for as a target (not in `all`, report)
    # Drawn only for an experiment whose optimiser's step is not plain SGD's -lr g
    # (bnopt.runs.takes_own_step): for plain SGD it would repeat the paper's direction.
    own_step: bool = False
    # "<family>:<quantity>" table columns the figure plots (a claim judged on the figure
    # reads only columns its figures draw: bnopt.claims.Claim.reads).
    draws: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return self.draw.split(".")[0]

    def draw_function(self) -> Callable:
        module, function = self.draw.split(".")
        return getattr(importlib.import_module(f"bnopt.plots.{module}"), function)

    @property
    def caption_path(self) -> Path:
        return CAPTIONS / f"{self.name}.rst"

    def caption(self) -> str:
        """The caption as reStructuredText."""
        return self.caption_path.read_text(encoding="utf-8").strip()


LANDSCAPE = ("landscape", "predictiveness", "beta")
ACCURACY = ("metrics:train_accuracy",)
LOSS = ("metrics:train_loss",)
GRAD_DIFF = ("predictiveness:grad_diff",)
# effective β with the steps that overshot at the smallest η (core.saturated) marked
BETA_SATURATED = ("beta:effective_beta", "beta:grad_norm", "predictiveness:grad_diff")

FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("fig1_training", "training", ("metrics",), "training.fig1_training",
               "Training", "Fig 1a", draws=(*ACCURACY, *LOSS)),
    FigureSpec("fig2_test_accuracy", "training", ("metrics",), "training.fig2_test_accuracy",
               "Training", "Fig 1b", draws=("metrics:test_accuracy",)),
    FigureSpec("fig3_ics_l2", "ics", ("ics",), "ics.fig3_ics_l2",
               "Internal covariate shift", "Fig 3", draws=("ics:ics_l2",)),
    FigureSpec("fig4_ics_cosine", "ics", ("ics",), "ics.fig4_ics_cosine",
               "Internal covariate shift", "Fig 3", draws=("ics:ics_cosine",)),
    FigureSpec("ics_relative", "ics", ("ics",), "ics.ics_relative",
               "Internal covariate shift", "not in the paper (its Fig 3 relative to ‖G‖)",
               draws=("ics:ics_relative",)),
    FigureSpec("fig5_loss_landscape", "landscape", ("metrics", "landscape"),
               "landscape.fig5_loss_landscape", "Loss landscape", "Fig 4a",
               draws=(*LOSS, "landscape:loss")),
    FigureSpec("fig6_gradient_predictiveness", "landscape", ("metrics", "predictiveness"),
               "landscape.fig6_gradient_predictiveness", "Loss landscape", "Fig 4b",
               draws=GRAD_DIFF),
    FigureSpec("fig7_beta_smoothness", "landscape", ("metrics", "beta", "predictiveness"),
               "landscape.fig7_beta_smoothness",
               "Loss landscape", "Fig 4c", draws=BETA_SATURATED),
    FigureSpec("noisy_bn_training", "noisy", ("metrics",), "training.noisy_bn_training",
               "Noisy BatchNorm", "Fig 2, left", draws=ACCURACY),
    FigureSpec("noisy_bn_distributions", "noisy", ("activations",),
               "activations.noisy_bn_distributions", "Noisy BatchNorm", "Fig 2, right",
               draws=("activations:sample",)),
    FigureSpec("noisy_bn_moments", "noisy", ("activations",), "activations.noisy_bn_moments",
               "Noisy BatchNorm", "Fig 8", draws=("activations:mean", "activations:var")),
    FigureSpec("lp_training", "lp", ("metrics",), "training.lp_training",
               "l_p normalisation", "Fig 12", draws=ACCURACY),
    FigureSpec("lp_distributions", "lp", ("activations",), "activations.lp_distributions",
               "l_p normalisation", "Fig 13", draws=("activations:sample",)),
    FigureSpec("lp_landscape", "lp", ("metrics", *LANDSCAPE), "landscape.lp_landscape",
               "l_p normalisation", "Fig 6",
               draws=(*LOSS, "landscape:loss", *GRAD_DIFF, "beta:effective_beta")),
    FigureSpec("beta_and_curvature", "landscape",
               ("metrics", "predictiveness", "beta", "curvature"),
               "landscape.beta_and_curvature", "Loss landscape", "not in the paper",
               draws=(*BETA_SATURATED, "curvature:lambda_max",
                      "curvature:directional_curvature")),
    FigureSpec("grad_change_vs_eta", "landscape", ("predictiveness",),
               "landscape.grad_change_vs_eta", "Loss landscape", "Fig 11", draws=GRAD_DIFF),
    FigureSpec("lr_envelope_not_a_landscape", "training", ("metrics",),
               "training.lr_envelope_not_a_landscape",
               "Loss across learning rates (not the paper's landscape)", "not in the paper",
               draws=LOSS),
    FigureSpec("lr_sweep", "training", ("metrics",), "training.lr_sweep",
               "Training", "not in the paper", draws=ACCURACY),
    FigureSpec("own_step_landscape", "landscape", ("landscape", "predictiveness", "own_step"),
               "landscape.own_step_landscape", "Loss landscape",
               "not in the paper (the optimiser's own step beside -g)", own_step=True,
               draws=("landscape:loss", *GRAD_DIFF, "own_step:own_step_loss",
                      "own_step:own_step_grad_diff")),
    FigureSpec("loss_surface", "landscape", ("surface",), "landscape.loss_surface",
               "Loss landscape", "not in the paper (Li et al. 2018)", on_request=True,
               draws=("surface:loss",)),
    FigureSpec("dln_ics", "dln", ("ics",), "dln.dln_ics",
               "Deep linear network", "Figs 3b, 9", draws=("ics:ics_cosine", "ics:ics_l2")),
    FigureSpec("dln_training", "dln", ("metrics",), "dln.dln_training",
               "Deep linear network", "Fig 9", draws=LOSS),
    FigureSpec("dln_landscape", "dln", LANDSCAPE, "dln.dln_landscape",
               "Deep linear network", "Figs 5b, 10", draws=("landscape:loss", *BETA_SATURATED)),
    FigureSpec("weight_norms", "scale_invariance", ("weights",), "weights.weight_norms",
               "Weights over training (beyond the paper)",
               "not in the paper (Arora et al. 2019; Li & Arora 2020)",
               draws=("weights:weight_norm", "weights:distance_from_init",
                      "weights:angular_update")),
    FigureSpec("relative_sharpness", "scale_invariance", ("metrics", "curvature"),
               "weights.relative_sharpness", "Weights over training (beyond the paper)",
               "not in the paper (Li & Arora 2020; Lyu, Li & Arora 2022)",
               draws=("curvature:lambda_max", "curvature:relative_lambda_max")),
    FigureSpec("edge_of_stability", "edge_of_stability", ("metrics", "curvature"),
               "stability.edge_of_stability",
               "Sharpness and the edge of stability (beyond the paper)",
               "not in the paper (Cohen et al. 2021; Andreyev & Beneventano 2024)",
               draws=("curvature:directional_curvature", "curvature:lambda_max",
                      "curvature:preconditioned_directional_curvature",
                      "curvature:preconditioned_lambda_max", "curvature:stability_threshold")),
    FigureSpec("gradient_concentration", "hessian_outliers", ("outliers",),
               "outliers.gradient_concentration", "Hessian outliers (beyond the paper)",
               "not in the paper (Ghorbani et al. 2019)",
               draws=("outliers:topk_share", "outliers:topk_share_population")),
    FigureSpec("init_signal_propagation", "initialisation", ("initialisation",),
               "initialisation.init_signal_propagation", "At initialisation (beyond the paper)",
               "not in the paper (Daneshmand et al. 2020; Yang et al. 2019)",
               draws=("initialisation:effective_rank", "initialisation:relative_grad_norm")),
)  # fmt: skip
FIGURE = {figure.name: figure for figure in FIGURES}
# The seven figures of the reproduction (protocol section 2).
PAPER_FIGURES = tuple(f.name for f in FIGURES if f.name.startswith("fig"))


def figure_targets(
    kinds: dict[str, str], on_request: bool = False, own_step: Collection[str] = ()
) -> dict[str, tuple[FigureSpec, str]]:
    """Every figure to draw, by target name: (its registry entry, the experiment it shows).

    `kinds` maps each experiment to the paper experiment it repeats (bnopt.runs). The
    paper's figures keep their names (results/figures/fig5_loss_landscape.png); another
    experiment of a kind gets that kind's figures under its own folder
    (results/figures/<experiment>/fig5_loss_landscape.png), after the paper's, in the order
    of the config. Figures drawn only on request are left out unless `on_request`; those of
    an optimiser's own step only for the experiments in `own_step`.
    """
    targets = {spec.name: (spec, spec.experiment) for spec in FIGURES if kinds.get(spec.experiment)}
    for experiment, kind in kinds.items():
        if experiment != kind:
            for spec in FIGURES:
                if spec.experiment == kind:
                    targets[f"{experiment}/{spec.name}"] = (spec, experiment)
    return {
        name: (spec, experiment)
        for name, (spec, experiment) in targets.items()
        if (on_request or not spec.on_request) and (experiment in own_step or not spec.own_step)
    }


def table_paths(spec: FigureSpec, experiment: str) -> dict[str, str]:
    return {table: f"results/tables/{experiment}/{table}.tsv" for table in spec.tables}


def figure_jobs(targets: dict[str, tuple[FigureSpec, str]]) -> dict[str, list[str]]:
    """The figure targets each figure job draws, by job name: one job per experiment draws
    its figures in one process (a figure takes about as long to draw as a process takes to
    import pandas and matplotlib), and each figure drawn only on request has a job of its own,
    so that `all` never waits for the tables only it reads (the loss surface).

    An experiment's figures read tables of the one `tables` job of that experiment, so a
    figure asked for alone runs exactly the jobs it needs, and draws its siblings with it.
    """
    jobs: dict[str, list[str]] = {}
    for target, (spec, experiment) in targets.items():
        job = f"{experiment}_{spec.name}" if spec.on_request else experiment
        jobs.setdefault(job, []).append(target)
    return jobs
