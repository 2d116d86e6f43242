from bnopt.logs import log_to
from bnopt.synthetic_images import write_synthetic_archive

with log_to(snakemake.log[0], "synthetic data") as log:
    p = snakemake.params
    write_synthetic_archive(snakemake.output[0], p.n_train, p.n_test, p.seed)
    log.info("wrote %s: %d train, %d test images", snakemake.output[0], p.n_train, p.n_test)
