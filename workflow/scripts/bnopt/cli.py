"""The `bnopt` command (installed by `pip install`): the package's tools by name.

    bnopt cost [config files]      training FLOPs per experiment (bnopt.cost)
    bnopt bench [options]          ms/step, MFU and probe overhead on this machine (bnopt.bench)
    bnopt timing [root]            where a finished DAG's time went (bnopt.timing)
    bnopt claims [claims.tsv]      the verdicts of a finished run, one line per claim
    bnopt config-docs [--check]    regenerate docs/configuration.md from the schema

Each subcommand imports only its own module, so `bnopt claims` starts without torch.
"""

import argparse
import importlib
import sys

# name -> (module, its function that takes the remaining arguments, what it does)
COMMANDS = {
    "cost": ("bnopt.cost", "main", "training FLOPs per experiment of config.yaml and more files"),
    "bench": ("bnopt.bench", "main", "speed of a training step and of the probes on this machine"),
    "timing": ("bnopt.timing", "main", "where a finished DAG's time went, from its benchmarks"),
    "claims": ("bnopt.cli", "claims_main", "the verdicts of results/claims.tsv, one per claim"),
    "config-docs": ("bnopt.config_docs", "main", "docs/configuration.md from the config schema"),
}


def claims_main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bnopt claims", description=COMMANDS["claims"][2])
    parser.add_argument("path", nargs="?", default="results/claims.tsv")
    path = parser.parse_args(argv).path
    from bnopt.claims import read_claims

    try:
        claims = read_claims(path)
    except FileNotFoundError:
        print(f"bnopt claims: {path} does not exist (run the workflow first)", file=sys.stderr)
        return 1
    # One line per claim and experiment: its outcome, and the judged parts' intervals.
    for (claim, experiment), parts in claims.groupby(["claim", "experiment"], sort=False):
        outcome = parts["outcome"].iloc[0]
        print(f"{outcome:<16} {experiment:<18} {claim}")
        for part in parts.itertuples():
            if part.part_outcome == "not measurable" or part.estimate != part.estimate:
                print(f"{'':<18} {part.part}: not measurable ({part.reason})")
            else:
                print(
                    f"{'':<18} {part.part}: {part.statistic} {part.estimate:.3g} "
                    f"[{part.low:.3g}, {part.high:.3g}], {part.steps} steps, {part.seeds} seeds"
                )
    counts = claims.drop_duplicates(["claim", "experiment"])["outcome"].value_counts()
    print(", ".join(f"{n} {outcome}" for outcome, n in counts.items()))
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv[0] not in COMMANDS:
        print(f"bnopt: unknown command {argv[0]!r}\n{__doc__}", file=sys.stderr)
        return 2
    module, function, _ = COMMANDS[argv[0]]
    return getattr(importlib.import_module(module), function)(argv[1:]) or 0


if __name__ == "__main__":
    raise SystemExit(main())
