"""Claims about freshly initialised networks (bnopt.initialisation; beyond the paper), each
from its paper's text, judged on the columns figure init_signal_propagation draws. A unit
is one layer of one seed's pair of networks (same seed: same inputs, weights drawn the same
way), so the interval runs over layers and seeds."""

from __future__ import annotations

import pandas as pd

from .. import quantities
from ..quantities import BATCHNORM, INIT_NETWORKS, STANDARD
from .verdict import HIGHER, Verdict, all_of, judge_part

RANK_RULE = (
    "For each network (the VGG-style conv stack and the deep linear network; each a part, "
    "supported only if both are): log10 of BN's / Standard's effective rank of each layer's "
    "representation, over the layers in the deeper half of the network (layer > depth / 2), "
    "same seed. Daneshmand et al. put BN above (Standard's rank collapses with depth, BN's "
    "stays high)"
)
EXPLOSION_RULE = (
    "VGG-style conv stack (the ReLU network Yang et al. analyse; their rate for a linear "
    "network approaches 1 as the batch grows, so the deep linear network is drawn, not "
    "judged): log10 of BN's / Standard's gradient norm relative to the last layer's, "
    "‖∇W_l L‖ / ‖∇W_depth L‖, over the layers in the half next to the input "
    "(layer <= depth / 2), same seed. Yang et al. put BN above (its gradient grows "
    "exponentially towards the input)"
)


def judge_rank(init: pd.DataFrame) -> Verdict:
    parts = []
    for network, label in INIT_NETWORKS.items():
        rows = quantities.deep_half(quantities.network_rows(init, network, "effective_rank"))
        parts.append(
            judge_part(
                f"BN / Standard effective rank, deeper half, {label}",
                "mean over the deeper half's layers of log10(BN / Standard) of the "
                "representation's effective rank",
                HIGHER,
                quantities.paired_layers(rows, BATCHNORM, STANDARD),
                log10=True,
                unit="layer",
                missing=f"no Standard and BN {label} measured",
            )
        )
    return all_of(parts)


def judge_explosion(init: pd.DataFrame) -> Verdict:
    network = "conv_stack"
    rows = quantities.input_half(quantities.network_rows(init, network, "relative_grad_norm"))
    part = judge_part(
        "BN / Standard relative gradient norm, half next to the input, conv stack",
        "mean over the input half's layers of log10(BN / Standard) of ‖∇W_l L‖ / ‖∇W_depth L‖",
        HIGHER,
        quantities.paired_layers(rows, BATCHNORM, STANDARD),
        log10=True,
        unit="layer",
        missing="no Standard and BN conv stack measured",
    )
    return all_of([part])
