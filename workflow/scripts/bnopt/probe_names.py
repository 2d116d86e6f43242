"""Names of the curvature probe's quantities, shared by the writer of a run's probes.tsv
(bnopt.probe_records, in the training job, which never imports pandas) and its readers
(bnopt.tables and what reads the tables)."""

CURVATURE_QUANTITIES = (
    "directional_curvature", "lambda_max", "lambda_min", "lanczos_iterations",
    "lanczos_converged",
)  # fmt: skip
# prefixes of the same quantities of D H D: the optimiser's preconditioner (Adam), and the
# weight-norm correction D = ||W_l|| (bnopt.probe_records.relative_scale)
PRECONDITIONED, RELATIVE = "preconditioned_", "relative_"
