# Beyond the paper, on request: the 2-D loss surface around each trained run of an
# experiment (bnopt.surface; Li et al. 2018), for the figure loss_surface.


rule surface:
    input:
        data=PREPARED,
        weights="results/runs/{run}/model.pt",
    output:
        "results/surfaces/{run}.tsv",
    log:
        "logs/surface/{run}.log",
    benchmark:
        "benchmarks/surface/{run}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    params:
        settings=lambda wildcards: run_settings(config, wildcards.run),
        surface=config["surface"],
        code=code_identity("surface.py"),
    script:
        "../scripts/surface.py"


rule surface_table:
    input:
        surfaces=lambda wildcards: expand(
            "results/surfaces/{run}.tsv",
            run=experiment_runs(config, wildcards.experiment),
        ),
    output:
        "results/tables/{experiment}/surface.tsv",
    log:
        "logs/tables/{experiment}-surface.log",
    benchmark:
        "benchmarks/tables/{experiment}-surface.tsv"
    conda:
        "../../environment.yml"
    params:
        code=code_identity("surface_table.py"),
    script:
        "../scripts/surface_table.py"
