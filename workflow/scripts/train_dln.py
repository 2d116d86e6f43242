from bnopt.execution import execution
from bnopt.logs import log_to
from bnopt.training import train_run

# One normalisation's deep-linear-network runs, in turn: each logs into its own file.
with log_to(snakemake.log.job, f"dln_{snakemake.wildcards.normalization}") as logger:
    for i, settings in enumerate(snakemake.params.settings):
        logger.info("run %s: its log is %s", settings["run"], snakemake.log.runs[i])
        with log_to(snakemake.log.runs[i], settings["run"]):
            outputs = {k: snakemake.output[k][i] for k in ("metrics", "probes", "meta", "weights")}
            execute = execution(snakemake.config, snakemake.threads, settings)
            train_run(None, outputs, settings, execute, code=snakemake.params.code)
