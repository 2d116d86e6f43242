PLOT_CODE = package("tables.py", "plots.py")


localrules:
    fig1_training,
    fig2_test_accuracy,
    fig3_ics_l2,
    fig4_ics_cosine,
    fig5_loss_landscape,
    fig6_gradient_predictiveness,
    fig7_beta_smoothness,


rule fig1_training:
    input:
        metrics="results/tables/training/metrics.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig1_training.png",
            caption="../report/fig1_training.rst",
            category="Training",
        ),
        pdf="results/figures/fig1_training.pdf",
    log:
        "logs/figures/fig1_training.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule fig2_test_accuracy:
    input:
        metrics="results/tables/training/metrics.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig2_test_accuracy.png",
            caption="../report/fig2_test_accuracy.rst",
            category="Training",
        ),
        pdf="results/figures/fig2_test_accuracy.pdf",
    log:
        "logs/figures/fig2_test_accuracy.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule fig3_ics_l2:
    input:
        ics="results/tables/ics/ics.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig3_ics_l2.png",
            caption="../report/fig3_ics_l2.rst",
            category="Internal covariate shift",
        ),
        pdf="results/figures/fig3_ics_l2.pdf",
    log:
        "logs/figures/fig3_ics_l2.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule fig4_ics_cosine:
    input:
        ics="results/tables/ics/ics.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig4_ics_cosine.png",
            caption="../report/fig4_ics_cosine.rst",
            category="Internal covariate shift",
        ),
        pdf="results/figures/fig4_ics_cosine.pdf",
    log:
        "logs/figures/fig4_ics_cosine.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule fig5_loss_landscape:
    input:
        landscape="results/tables/landscape/landscape.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig5_loss_landscape.png",
            caption="../report/fig5_loss_landscape.rst",
            category="Loss landscape",
        ),
        pdf="results/figures/fig5_loss_landscape.pdf",
    log:
        "logs/figures/fig5_loss_landscape.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule fig6_gradient_predictiveness:
    input:
        predictiveness="results/tables/landscape/predictiveness.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig6_gradient_predictiveness.png",
            caption="../report/fig6_gradient_predictiveness.rst",
            category="Loss landscape",
        ),
        pdf="results/figures/fig6_gradient_predictiveness.pdf",
    log:
        "logs/figures/fig6_gradient_predictiveness.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"


rule fig7_beta_smoothness:
    input:
        beta="results/tables/landscape/beta.tsv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig7_beta_smoothness.png",
            caption="../report/fig7_beta_smoothness.rst",
            category="Loss landscape",
        ),
        pdf="results/figures/fig7_beta_smoothness.pdf",
    log:
        "logs/figures/fig7_beta_smoothness.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"
