import pandas as pd

from bnopt.logs import log_to
from bnopt.surface import COLUMNS
from bnopt.tables import write_tsv

with log_to(snakemake.log[0], snakemake.wildcards.experiment):
    parts = [pd.read_csv(path, sep="\t") for path in snakemake.input.surfaces]
    write_tsv(pd.concat(parts) if parts else pd.DataFrame(columns=COLUMNS), snakemake.output[0])
