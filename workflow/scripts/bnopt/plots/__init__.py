"""Figures of the reproduction, one function per figure, in one module per experiment:
training, ics, landscape, activations and dln, over the shared style of bnopt.plots.style.

Every function takes tidy tables (columns run, normalization, lr, seed, step, quantity, value,
layer, eta and, for metrics, diverged_at) and returns a matplotlib Figure. Figures are built
with `matplotlib.figure.Figure` directly, so nothing is left open in pyplot's global state.

Encoding: colour = normalisation in every figure (the same colour for the same
normalisation everywhere), line style = learning rate; the landscape figures have one panel
per learning rate. Figures are one column (3.3 in) or the full text width (6.8 in) wide.
Several seeds of one (normalisation, lr) are drawn as the mean line plus a min..max band.
Every drawn artist carries a gid naming its group, e.g. "none|0.1" for a mean line,
"none|0.1|band" for a seed band, "none|0.1|range" for a range over eta and
"none|0.5|diverged" for the markers where the group's diverged runs stopped.

The noisy-BatchNorm and l_p figures colour by normalisation (with the normalisation's line
style as well, so they survive grey-scale printing); the activation ridge plots and the
gradient-change-vs-eta curves colour by training step.
"""

from .activations import (  # noqa: F401
    KDE_POINTS,
    LP_LAYER,
    MOMENT_PANELS,
    PAPER_LR,
    RIDGE_HEIGHT,
    chosen_lr,
    draw_ridges,
    first_seed_per_normalization,
    gaussian_kde,
    lp_distributions,
    moment_changes,
    noisy_bn_distributions,
    noisy_bn_moments,
    ridge_grid,
    seed_choice_note,
    value_range,
)
from .dln import (  # noqa: F401
    beta_panel,
    dln_ics,
    dln_landscape,
    dln_training,
    lines_panel,
    range_over_eta_panel,
)
from .ics import (  # noqa: F401
    fig3_ics_l2,
    fig4_ics_cosine,
    ics_figure,
    ics_relative,
)
from .landscape import (  # noqa: F401
    CURVATURE_LINES,
    LP_LANDSCAPE_PANELS,
    PAPER_ETA_NOTE,
    beta_and_curvature,
    fig5_loss_landscape,
    fig6_gradient_predictiveness,
    fig7_beta_smoothness,
    grad_change_vs_eta,
    label_eta_axis,
    lp_beta_panel,
    lp_landscape,
    lp_landscape_note,
    lp_range_panel,
    mark_early_window,
    overshoot_fraction,
    range_figure,
)
from .style import (  # noqa: F401
    DARK_PALETTE,
    DPI,
    LINE_ORDER,
    LINE_STYLES,
    LP_NORMALIZATIONS,
    NOISY_NORMALIZATIONS,
    NORMALIZATION_COLORS,
    NORMALIZATION_LABELS,
    NORMALIZATION_ORDER,
    PALETTE,
    PAPER_LR_STYLES,
    RC_STYLE,
    RIDGE_COUNT,
    SEED_BAND_NOTE,
    SEED_RANGE_NOTE,
    STEP_COLORMAP,
    STYLE_WORDS,
    TIDY_COLUMNS,
    add_figure_legend,
    add_normalization_legend,
    by_lr_and_style,
    by_normalization,
    concat_rows,
    decorate_ics_cosine_panel,
    decorate_ics_l2_panel,
    diverged_runs,
    divergence_label,
    draw_divergence_markers,
    draw_seed_lines,
    draw_two_over_lr,
    encoding_note,
    eta_range_per_step,
    evenly_spaced,
    format_lr,
    group_gid,
    group_label,
    label_without_lr,
    layers_to_show,
    legend_columns,
    line_panel,
    mark_no_data,
    new_figure,
    no_data_figure,
    normalization_color,
    normalization_label,
    only_normalizations,
    range_panel,
    range_width_rows,
    save_figure,
    seed_summary,
    set_log_scale_if_positive,
    set_suptitle,
    sorted_normalizations,
    start_step_panel,
    step_colors,
    step_scale,
    styled,
    wrapped_grid,
)
from .training import (  # noqa: F401
    BIN_TARGET,
    as_percent,
    bin_width,
    binned_by_steps,
    binning_note,
    envelope_over_lrs,
    fig1_training,
    fig2_test_accuracy,
    is_binned,
    logged_every,
    lp_training,
    lr_envelope_not_a_landscape,
    noisy_bn_training,
    training_accuracy_figure,
)
