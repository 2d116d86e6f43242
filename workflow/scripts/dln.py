from bnopt.dln import train_dln
from bnopt.logs import log_to

with log_to(snakemake.log[0], f"dln/{snakemake.wildcards.run}"):
    outputs = {k: snakemake.output[k] for k in ("metrics", "probes", "meta")}
    train_dln(dict(snakemake.params.settings), outputs, code_files=snakemake.input.code)
