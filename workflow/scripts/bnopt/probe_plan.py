"""Which probes a VGG run takes: those whose tables a figure or claim of its experiments reads.

Probes cost training time (at cadence 100 the landscape and ICS probes add ~9%, the
curvature probe another 35-80%: `make bench`), so a run measures what one of its experiments
needs, and no more: with the paper's experiments, the curvature only on the landscape
experiment's runs, the ICS only on the ICS experiment's, activation samples only on the noisy
BatchNorm and l_p runs, and no probe at all on the runs only Fig 1 reads (lr 0.5). The
landscape probe's steps along -g (eta_multipliers, one forward and backward pass each) run
only where a landscape family is read: an ICS or noisy-BN run keeps its probed steps (the
ICS probe takes the step's own gradient) without them; a run whose optimiser is not plain
SGD takes them twice, along -g and along its own step (bnopt.probe_records.own_step_records).
The registries of figures and claims say what each experiment reads, so a new figure or
claim that reads a family brings its probe with it. Probing never changes the trajectory
(tests/unit/test_training.py), so a run's training numbers do not depend on this plan.
"""

from __future__ import annotations

from .claims import CLAIM_TABLES
from .figures import FIGURES

LANDSCAPE_FAMILIES = frozenset({"landscape", "predictiveness", "beta", "curvature", "own_step"})


def families_read(experiment: str, own_step: bool = False) -> set[str]:
    """The table families that the figures and claims of one experiment read, given its
    kind (`experiment`) and whether its optimiser's step is its own (not -lr g)."""
    read = {
        table
        for figure in FIGURES
        if figure.experiment == experiment
        and not figure.on_request  # these need no probe
        and (own_step or not figure.own_step)
        for table in figure.tables
    }
    for key in CLAIM_TABLES:
        owner, family = key.split("/")
        if owner == experiment:
            read.add(family)
    return read


def planned_probes(probes: dict, families: set[str]) -> dict:
    """The config's `probes` section as one run takes it, given the families it must fill."""
    probed = bool(families & (LANDSCAPE_FAMILIES | {"ics", "activations", "weights", "outliers"}))
    plan = {k: probes[k] for k in sorted(probes)}
    plan["every"] = int(probes["every"]) if probed else 0
    if not families & LANDSCAPE_FAMILIES:
        plan["eta_multipliers"] = []
    if "ics" not in families:
        plan["ics_layers"] = []
    if "activations" not in families:
        plan["activation_layers"] = []
    if not families & {"curvature", "outliers"}:  # both measured at the curvature steps
        plan["curvature_every"] = 0
    plan["weights"] = "weights" in families  # each weight layer's norm, distance, angle
    # the gradient's share in the top-k Hessian eigenspace at each curvature step (0: none)
    plan["outlier_k"] = int(probes.get("outlier_k", 0)) if "outliers" in families else 0
    return plan
