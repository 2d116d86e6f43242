localrules:
    tables,


rule tables:
    input:
        metrics=experiment_outputs("metrics.tsv"),
        probes=experiment_outputs("probes.tsv"),
        meta=experiment_outputs("meta.json"),
        code=package("tables.py"),
    output:
        metrics="results/tables/{experiment}/metrics.tsv",
        ics="results/tables/{experiment}/ics.tsv",
        landscape="results/tables/{experiment}/landscape.tsv",
        predictiveness="results/tables/{experiment}/predictiveness.tsv",
        beta="results/tables/{experiment}/beta.tsv",
        activations="results/tables/{experiment}/activations.tsv",
    log:
        "logs/tables/{experiment}.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/tables.py"
