localrules:
    tables,


rule tables:
    input:
        metrics=experiment_outputs("metrics.tsv"),
        probes=experiment_outputs("probes.tsv"),
        meta=experiment_outputs("meta.json"),
    output:
        **table_outputs(),
    log:
        "logs/tables/{experiment}.log",
    benchmark:
        "benchmarks/tables/{experiment}.tsv"
    conda:
        "../../environment.yml"
    params:
        code=code_identity("tables.py"),
    script:
        "../scripts/tables.py"
