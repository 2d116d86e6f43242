from bnopt.figures import FIGURE
from bnopt.logs import log_to
from bnopt.plots.style import note_experiment, save_figure
from bnopt.tables import read_table

with log_to(snakemake.log[0], snakemake.wildcards.figure):
    spec = FIGURE[snakemake.params.draw]
    figure = spec.draw_function()(*[read_table(snakemake.input[t]) for t in spec.tables])
    note_experiment(figure, snakemake.params.note)
    save_figure(figure, snakemake.output.png, snakemake.output.pdf)
