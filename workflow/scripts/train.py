from bnopt.logs import log_to
from bnopt.training import train_run

with log_to(snakemake.log[0]):
    outputs = {k: snakemake.output[k] for k in ("metrics", "probes", "meta", "weights")}
    # Snakemake may grant fewer threads than train.threads (e.g. --cores 2): use what it gave.
    settings = {**snakemake.params.settings, "threads": snakemake.threads}
    train_run(snakemake.input.data, outputs, settings)
