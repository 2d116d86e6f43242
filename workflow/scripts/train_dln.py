from bnopt.training_job import train_job

# One normalisation's deep-linear-network runs, in turn: each logs into its own file.
train_job(
    f"dln_{snakemake.wildcards.normalization}",
    snakemake.log.job,
    snakemake.log.runs,
    None,  # the DLN makes its own data
    snakemake.output,
    snakemake.params.settings,
    snakemake.config,
    snakemake.threads,
    code=snakemake.params.code,
)
