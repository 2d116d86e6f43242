localrules:
    claims,
    report,


# The verdicts, one row per judged part of each claim (bnopt.claims): a target of its own.
rule claims:
    input:
        tables=expand("results/tables/{table}.tsv", table=CLAIM_TABLES),
    output:
        report(
            "results/claims.tsv",
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        "logs/claims.log",
    benchmark:
        "benchmarks/claims.tsv"
    conda:
        "../../environment.yml"
    params:
        tables=CLAIM_TABLES,
        # Sorted, so that the order of the experiments in a config file never reruns the job.
        kinds=dict(sorted(KINDS.items())),
        code=code_identity("claims.py"),
    script:
        "../scripts/claims.py"


rule report:
    input:
        figures=expand("results/figures/{figure}.png", figure=FIGURES),
        captions=sorted(
            {os.path.relpath(spec.caption_path) for spec, _ in FIGURES.values()}
        ),
        claims="results/claims.tsv",
        meta=run_outputs("meta.json", all_runs(config)),
    output:
        "results/report.html",
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    conda:
        "../../environment.yml"
    params:
        config=config,
        code=code_identity("report.py"),
    script:
        "../scripts/report.py"
