from pathlib import Path

from bnopt.dln_plots import DLN_FIGURES
from bnopt.logs import log_to
from bnopt.plots import save_figure
from bnopt.tables import read_table

with log_to(snakemake.log[0], Path(snakemake.output.png).stem):
    draw, families = DLN_FIGURES[Path(snakemake.output.png).stem]
    figure = draw(*[read_table(snakemake.input[family]) for family in families])
    save_figure(figure, snakemake.output.png, snakemake.output.pdf)
