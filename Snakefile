# Reproduction of Santurkar et al. (2018), "How Does Batch Normalization Help Optimization?"
# snakemake --cores 4 --resources gpu=1            (paper settings, config/config.yaml)
# snakemake --cores 2 --configfile config/demo.yaml (CPU demo)
import re

from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# Names from the config enter these patterns escaped, as literal text.
wildcard_constraints:
    run=RUN_PATTERN,
    experiment="|".join(map(re.escape, experiments(config))),
    family="|".join(map(re.escape, FAMILIES)),


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/probes.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/surface.smk"
include: "workflow/rules/initialisation.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        figures=expand(
            "results/figures/{figure}.{ext}", figure=FIGURES, ext=["png", "pdf"]
        ),
        claims="results/claims.tsv",
        report="results/report.html",
