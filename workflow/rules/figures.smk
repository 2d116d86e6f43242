# Every figure of the registry bnopt.figures.FIGURES, drawn by this one rule, once per figure
# job (FIGURE_JOBS: an experiment's figures, or one figure drawn on request): the entry gives
# the tables a figure reads, its draw function, its caption and its report category.
for job, targets in FIGURE_JOBS.items():

    rule:
        name:
            f"figures_{job}"
        input:
            **figure_job_tables(targets),
        output:
            png=[figure_png(target) for target in targets],
            pdf=[f"results/figures/{target}.pdf" for target in targets],
        log:
            f"logs/figures/{job}.log",
        benchmark:
            f"benchmarks/figures/{job}.tsv"
        localrule: True
        conda:
            "../../environment.yml"
        params:
            figures=figure_params(targets),
            code=figure_code(targets),
        script:
            "../scripts/plot.py"
