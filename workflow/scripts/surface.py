from bnopt.logs import log_to
from bnopt.surface import run_surface
from bnopt.tables import write_tsv

with log_to(snakemake.log[0], snakemake.wildcards.run):
    surface = run_surface(
        snakemake.params.settings, snakemake.input.data, snakemake.input.weights,
        snakemake.params.surface,
    )  # fmt: skip
    write_tsv(surface, snakemake.output[0])
