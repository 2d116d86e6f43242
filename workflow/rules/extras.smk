# Figures beyond the paper's seven (paper Figs 2, 8, 11, 12, 13; the notebooks' envelope).


localrules:
    noisy_bn_training,
    noisy_bn_distributions,
    noisy_bn_moments,
    lp_training,
    lp_distributions,
    lp_landscape,
    grad_change_vs_eta,
    lr_envelope_not_a_landscape,


rule noisy_bn_training:
    input:
        metrics="results/tables/noisy/metrics.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/noisy_bn_training.png",
            caption="../report/noisy_bn_training.rst",
            category="Noisy BatchNorm",
        ),
        pdf="results/figures/noisy_bn_training.pdf",
    log:
        "logs/figures/noisy_bn_training.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule noisy_bn_distributions:
    input:
        activations="results/tables/noisy/activations.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/noisy_bn_distributions.png",
            caption="../report/noisy_bn_distributions.rst",
            category="Noisy BatchNorm",
        ),
        pdf="results/figures/noisy_bn_distributions.pdf",
    log:
        "logs/figures/noisy_bn_distributions.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule noisy_bn_moments:
    input:
        activations="results/tables/noisy/activations.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/noisy_bn_moments.png",
            caption="../report/noisy_bn_moments.rst",
            category="Noisy BatchNorm",
        ),
        pdf="results/figures/noisy_bn_moments.pdf",
    log:
        "logs/figures/noisy_bn_moments.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule lp_training:
    input:
        metrics="results/tables/lp/metrics.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/lp_training.png",
            caption="../report/lp_training.rst",
            category="l_p normalisation",
        ),
        pdf="results/figures/lp_training.pdf",
    log:
        "logs/figures/lp_training.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule lp_distributions:
    input:
        activations="results/tables/lp/activations.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/lp_distributions.png",
            caption="../report/lp_distributions.rst",
            category="l_p normalisation",
        ),
        pdf="results/figures/lp_distributions.pdf",
    log:
        "logs/figures/lp_distributions.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule lp_landscape:
    input:
        landscape="results/tables/lp/landscape.tsv",
        predictiveness="results/tables/lp/predictiveness.tsv",
        beta="results/tables/lp/beta.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/lp_landscape.png",
            caption="../report/lp_landscape.rst",
            category="l_p normalisation",
        ),
        pdf="results/figures/lp_landscape.pdf",
    log:
        "logs/figures/lp_landscape.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule grad_change_vs_eta:
    input:
        predictiveness="results/tables/landscape/predictiveness.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/grad_change_vs_eta.png",
            caption="../report/grad_change_vs_eta.rst",
            category="Loss landscape",
        ),
        pdf="results/figures/grad_change_vs_eta.pdf",
    log:
        "logs/figures/grad_change_vs_eta.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule lr_envelope_not_a_landscape:
    input:
        metrics="results/tables/training/metrics.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/lr_envelope_not_a_landscape.png",
            caption="../report/lr_envelope_not_a_landscape.rst",
            category="Seed notebooks' variant",
        ),
        pdf="results/figures/lr_envelope_not_a_landscape.pdf",
    log:
        "logs/figures/lr_envelope_not_a_landscape.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"
