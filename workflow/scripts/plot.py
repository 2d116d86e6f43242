from bnopt.logs import log_to
from bnopt.plots.draw import draw_figures

# The figures of one experiment (or one figure drawn on request): bnopt.figures.figure_jobs.
with log_to(snakemake.log[0], snakemake.rule):
    draw_figures(
        snakemake.params.figures, snakemake.input, snakemake.output.png, snakemake.output.pdf
    )
