# Every figure of the registry bnopt.figures.FIGURES, drawn by this one rule: the entry
# gives the tables it reads, its draw function, its caption and its report category.


localrules:
    figure,


rule figure:
    input:
        unpack(figure_inputs),
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category=lambda wildcards: ALL_FIGURES[wildcards.figure][0].category,
        ),
        pdf="results/figures/{figure}.pdf",
    log:
        "logs/figures/{figure}.log",
    benchmark:
        "benchmarks/figures/{figure}.tsv"
    conda:
        "../../environment.yml"
    params:
        # The figure's caption (workflow/report/<figure>.rst) for snakemake --report.
        caption=lambda wildcards: ALL_FIGURES[wildcards.figure][0].caption(),
        draw=lambda wildcards: ALL_FIGURES[wildcards.figure][0].name,
        note=figure_note,
        code=figure_code,
    script:
        "../scripts/plot.py"
