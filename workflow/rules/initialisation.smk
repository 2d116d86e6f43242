# Beyond the paper: networks at initialisation, no training (bnopt.initialisation;
# Daneshmand et al. 2020, Yang et al. 2019). One job measures an experiment of kind
# initialisation: every network, normalisation and seed of it.


rule initialisation:
    input:
        unpack(initialisation_inputs),
    output:
        table_output("initialisation"),
    log:
        "logs/initialisation/{experiment}.log",
    benchmark:
        "benchmarks/initialisation/{experiment}.tsv"
    conda:
        "../../environment.yml"
    threads: 2
    params:
        settings=lambda wildcards: initialisation_settings(config, wildcards.experiment),
        code=code_identity("initialisation.py"),
    script:
        "../scripts/initialisation.py"
