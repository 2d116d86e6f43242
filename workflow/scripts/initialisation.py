import torch

from bnopt.data import load_prepared
from bnopt.initialisation import measure
from bnopt.logs import log_to
from bnopt.tables import write_tsv

with log_to(snakemake.log[0], f"initialisation/{snakemake.wildcards.experiment}") as log:
    torch.set_num_threads(snakemake.threads)
    data = getattr(snakemake.input, "data", None)
    images = load_prepared(data) if data else None
    table = measure(snakemake.params.settings, images)
    write_tsv(table, snakemake.output[0])
    log.info("%d networks measured at initialisation", table["run"].nunique())
