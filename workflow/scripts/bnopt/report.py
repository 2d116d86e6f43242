"""One self-contained HTML report: summary, claims, figures, runs and the resolved config.

The functions here assemble plain data from the inputs; the Jinja2 template
templates/report.html.j2 lays them out. The file needs no network: figures are embedded as
base64 PNG data URIs and the styling is inline CSS. Every number in it comes from the
inputs; all text is HTML-escaped by the template (autoescape), except the captions, which
docutils renders from the workflow's own reStructuredText files.
"""

import base64
import math
from collections import Counter
from pathlib import Path

import jinja2
import pandas as pd
import yaml
from docutils.core import publish_parts
from markupsafe import Markup

from bnopt import catalog
from bnopt.catalog import FIGURE_DPI, PAPER_MODEL, format_lr, model_label, normalization_text
from bnopt.claims import (
    CLAIM_GROUPS,
    CONTRADICTED,
    INCONCLUSIVE,
    LITERATURE_GROUPS,
    NOT_MEASURABLE,
    PAPER_GROUPS,
    SUPPORTED,
)
from bnopt.figures import FIGURE
from bnopt.files import write_text


def caption_html(rst: str) -> str:
    """A figure's caption (reStructuredText, workflow/report/<figure>.rst) as inline HTML,
    rendered by docutils as `snakemake --report` renders the same file."""
    settings = {"report_level": 5, "halt_level": 5, "warning_stream": False}
    body = publish_parts(rst, writer="html", settings_overrides=settings)["body"].strip()
    return body.removeprefix("<p>").removesuffix("</p>")


VERDICT_CLASSES = {
    SUPPORTED: "supported",
    CONTRADICTED: "contradicted",
    INCONCLUSIVE: "inconclusive",
    NOT_MEASURABLE: "not-measurable",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DASH = "—"

TEMPLATES = Path(__file__).with_name("templates")
# The files the report reads beside this module (part of the report's code identity).
RESOURCES = ("templates/report.html.j2", "templates/report.css")
CHECKOUT = Path(__file__).resolve().parents[3]  # the workflow's folder: workflow/scripts/bnopt


def is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def format_percent(fraction) -> str:
    return DASH if is_missing(fraction) else f"{100 * float(fraction):.1f}%"


def format_duration(seconds) -> str:
    if is_missing(seconds):
        return DASH
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def format_number(value, digits: int = 1) -> str:
    return DASH if is_missing(value) else f"{float(value):.{digits}f}"


def format_significant(value, digits: int = 3) -> str:
    return DASH if is_missing(value) else f"{float(value):.{digits}g}"


def format_diverged(run: dict) -> str:
    if not run.get("diverged"):
        return DASH
    step = run.get("diverged_at")
    return "yes" if is_missing(step) else f"step {int(step)}"


def png_data_uri(png_path) -> str:
    data = Path(png_path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{png_path} is not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def distinct(runs: list[dict], key: str) -> list:
    values = [run.get(key) for run in runs if not is_missing(run.get(key))]
    return sorted(set(values), key=str)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def runs_in_words(runs: list[dict]) -> str:
    """'(Standard, Standard + BatchNorm; learning rates 0.1, 0.5; 1 seed), run on cpu'."""
    devices = ", ".join(str(device) for device in distinct(runs, "device")) or "an unknown device"
    present = distinct(runs, "normalization")
    ordered = [n for n in catalog.NORMALIZATIONS if n in present] + [
        n for n in present if n not in catalog.NORMALIZATIONS
    ]
    normalizations = ", ".join(normalization_text(n) for n in ordered)
    lrs = [format_lr(lr) for lr in sorted(distinct(runs, "lr"), key=float)]
    lr_words = "learning rate" if len(lrs) == 1 else "learning rates"
    seeds = len(distinct(runs, "seed"))
    # The networks only when there is more than the paper's (an experiment beyond it).
    models = [m for m in catalog.MODELS if m in distinct(runs, "model")]
    networks = f"{', '.join(model_label(m) for m in models)}; " if len(models) > 1 else ""
    return (
        f"({networks}{normalizations or 'no normalisation recorded'}; {lr_words} "
        f"{', '.join(lrs) or DASH}; {plural(seeds, 'seed')}), run on {devices}"
    )


def data_sources(config: dict, runs: list[dict], key: str = "description") -> list[str]:
    """Where the runs' data came from (meta.json `data`), in words; the config's dataset
    name for runs recorded before provenance was."""
    fallback = (config.get("data") or {}).get("dataset", "an unnamed dataset")
    found = {str((run.get("data") or {}).get(key) or fallback) for run in runs}
    return sorted(found) or [fallback]


def is_beyond(group) -> bool:
    """A claim group beyond the paper: the follow-up literature's, or another experiment of
    a kind's (not one of the paper's groups)."""
    return isinstance(group, str) and group not in PAPER_GROUPS


def summary_text(
    config: dict, runs: list[dict], claims: pd.DataFrame, dln_runs: list[dict] = ()
) -> str:
    dataset = "; ".join(data_sources(config, runs))
    diverged = sum(bool(run.get("diverged")) for run in [*runs, *dln_runs])
    beyond = claims["group"].map(is_beyond).astype(bool)
    literature = claims["group"].isin(list(LITERATURE_GROUPS))
    paper, others, later = claims[~beyond], claims[beyond & ~literature], claims[literature]

    def counts(rows: pd.DataFrame) -> str:
        verdicts = Counter(rows["verdict"])
        return ", ".join(f"{verdicts.get(verdict, 0)} {verdict}" for verdict in VERDICT_CLASSES)

    experiments = plural(others["group"].nunique(), "other experiment") if len(others) else ""
    others_text = (
        f" Beyond the paper, the same claims on {experiments}: "
        f"{len(others)} checked, {counts(others)}."
        if len(others)
        else ""
    )
    later_text = (
        f" Claims of the follow-up literature: {len(later)} checked, {counts(later)}."
        if len(later)
        else ""
    )
    dln_text = (
        f" It also has {plural(len(dln_runs), 'deep-linear-network run')} "
        f"{runs_in_words(dln_runs)}."
        if dln_runs
        else ""
    )
    text = (
        f"This report collects {plural(len(runs), 'training run')} on {dataset} "
        f"{runs_in_words(runs)}.{dln_text} {plural(diverged, 'run')} diverged. "
        f"Of the paper's claims, {len(paper)} were checked: {counts(paper)}.{others_text}"
        f"{later_text}"
    )
    return text


CLAIM_HEADERS = ("Claim", "Judged on", "Paper", "Measured", "Verdict")


def claim_summaries(parts: pd.DataFrame) -> pd.DataFrame:
    """results/claims.tsv (one row per judged part) folded into one row per claim, in order:
    claim, figure, paper, rule, verdict (the claim's outcome), reading (its reason), group,
    and its parts (a list of dicts with the cells of the parts table)."""
    columns = ["claim", "figure", "paper", "rule", "verdict", "reading", "group", "parts"]
    rows = []
    for claim, own in parts.groupby("claim", sort=False):
        first = own.iloc[0]
        rows.append(
            {
                "claim": claim, "figure": first["figure"], "paper": first["paper"],
                "rule": first["rule"], "verdict": first["outcome"], "reading": first["reason"],
                "group": first["group"], "parts": [part_cells(p) for p in own.to_dict("records")],
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def part_cells(part: dict) -> dict:
    """One judged part as the report's parts table shows it: a log10 ratio as a factor."""
    values = [part.get(key) for key in ("estimate", "low", "high")]
    if any(is_missing(v) for v in values):
        estimate = DASH
    elif part.get("scale") == "log10 ratio":
        estimate, low, high = (f"×{10 ** float(v):.3g}" for v in values)
        estimate = f"{estimate} [{low}, {high}]"
    else:
        estimate, low, high = (f"{float(v):+.3g}" for v in values)
        estimate = f"{estimate} [{low}, {high}]"
    return {
        "name": part["part"],
        "statistic": part["statistic"],
        "estimate": estimate,
        "steps": str(part["steps"]),
        "seeds": str(part["seeds"]),
        "per_seed": str(part.get("per_seed") or ""),
        "outcome": part["part_outcome"],
        "css": verdict_class(part["part_outcome"]),
    }


def verdict_class(verdict) -> str:
    return VERDICT_CLASSES.get(verdict, "not-measurable")


def group_title(group) -> str:
    """A paper group's title, or, for another experiment of a kind, its name."""
    return CLAIM_GROUPS.get(group, f"Beyond the paper: experiment {group}")


def verdict_counts(claims: pd.DataFrame) -> list[tuple[str, int, str]]:
    counts = Counter(claims["verdict"]) if not claims.empty else Counter()
    return [(verdict, counts.get(verdict, 0), css) for verdict, css in VERDICT_CLASSES.items()]


def verdict_badges(claims: pd.DataFrame) -> list[tuple[str, list[tuple[str, int, str]]]]:
    """The counts of verdicts shown under the summary: the paper's claims, then (apart, so
    that they never add to the paper's) those judged on experiments beyond it."""
    beyond = claims["group"].map(is_beyond).astype(bool) if "group" in claims else None
    if beyond is None or not beyond.any():
        return [("The paper's claims", verdict_counts(claims))]
    return [
        ("The paper's claims", verdict_counts(claims[~beyond])),
        ("Beyond the paper", verdict_counts(claims[beyond])),
    ]


def group_anchor(group) -> str:
    return f"claims-{group}"


def claim_groups(claims: pd.DataFrame) -> list[dict]:
    """The claim groups present, in order, for the table of contents."""
    groups = [] if claims.empty else list(dict.fromkeys(claims["group"].dropna()))
    return [{"anchor": group_anchor(g), "title": group_title(g)} for g in groups]


def claim_rows(claims: pd.DataFrame) -> list[dict]:
    """The claims in the given (figure) order; the first of each group carries its title."""
    rows, previous_group = [], None
    for claim in claims.to_dict("records"):
        group = claim.get("group")
        starts_group = not is_missing(group) and group != previous_group
        if starts_group:
            previous_group = group
        rows.append(
            {
                **{key: claim[key] for key in ("claim", "figure", "paper", "rule", "reading")},
                "parts": claim.get("parts") or [],
                # The parts list says what decided the outcome, unless no part could be
                # judged or readings of the same part disagreed: then the reason says it.
                "show_reading": claim["verdict"] == NOT_MEASURABLE
                or "changes the outcome" in str(claim.get("reading", "")),
                "figures": figure_names(claim["figure"]),
                "verdict": claim["verdict"],
                "css": verdict_class(claim["verdict"]),
                "group_title": group_title(group) if starts_group else None,
                "group_anchor": group_anchor(group) if starts_group else None,
            }
        )
    return rows


def figure_verdicts(name: str, claims: pd.DataFrame) -> list[dict]:
    """The verdicts judged on this figure (a claim's figure field may name several)."""
    return [
        {
            "claim": c["claim"],
            "verdict": c["verdict"],
            "reading": c.get("reading", ""),
            "css": verdict_class(c["verdict"]),
        }
        for c in claims.to_dict("records")
        if name in figure_names(c["figure"])
    ]


def figure_names(field) -> list[str]:
    """The registry names in a claim's figure field ("fig6_a, grad_change_vs_eta")."""
    return [part.strip() for part in str(field).split(",") if part.strip()]


def figure_item(figure: dict, claims: pd.DataFrame) -> dict:
    """`figure` has a name, a png path and (optionally) its caption in reStructuredText;
    without one, the registry's caption of that name is used."""
    name = figure["name"]
    spec = FIGURE.get(name.split("/")[-1])  # <experiment>/<figure> for another experiment
    rst = figure.get("caption") or (spec.caption() if spec else name)
    return {
        "name": name,
        "src": png_data_uri(figure["png"]),
        "share": display_share(figure["png"]),
        "paper": spec.paper if spec else "",
        "caption": Markup(caption_html(rst)),
        "verdicts": figure_verdicts(name, claims),
    }


CSS_PX_PER_INCH = 96


def display_width(png_path) -> int | None:
    """The width in CSS pixels of a figure at its print size (display_share scales it)."""
    with open(png_path, "rb") as png:
        header = png.read(24)
    if header[:8] != PNG_SIGNATURE:
        return None
    return round(int.from_bytes(header[16:20], "big") * CSS_PX_PER_INCH / FIGURE_DPI)


# A full-width figure as saved: the text width (6.8 in) and the margin of its tight bounding box.
FULL_FIGURE_INCHES = 7.0


def display_share(png_path) -> float | None:
    """The share (percent) of the report's column a figure fills: a full-width figure all of
    it, a one-column figure about half, so that text reads the same size in every figure and
    a full-width figure's tick labels are not shrunk to its print size (on a narrow screen
    every figure fills the column: report.css)."""
    width = display_width(png_path)
    if width is None:
        return None
    return min(100.0, round(100 * width / (FULL_FIGURE_INCHES * CSS_PX_PER_INCH), 1))


RUN_COLUMNS = (
    "Run",
    "Normalisation",
    "lr",
    "Seed",
    "Final train accuracy",
    "Final test accuracy",
    "Diverged at",
    "Wall time",
    "Steps/s",
    "Device",
    "Precision",
    "Data",
)


DLN_RUN_COLUMNS = (*RUN_COLUMNS[:4], "Final train loss", *RUN_COLUMNS[6:-1])


def run_cells(run: dict, dln: bool = False) -> list[tuple[str, bool]]:
    """(text, numeric) for each column of the run table (DLN_RUN_COLUMNS with `dln`)."""
    results = (
        [(format_significant(run.get("final_train_loss")), True)]
        if dln
        else [
            (format_percent(run.get("final_train_accuracy")), True),
            (test_accuracy_text(run), True),
        ]
    )
    return [
        (str(run.get("run", DASH)), False),
        (normalization_text(run.get("normalization")), False),
        (DASH if is_missing(run.get("lr")) else format_lr(run["lr"]), True),
        (DASH if is_missing(run.get("seed")) else str(run["seed"]), True),
        *results,
        (format_diverged(run), False),
        (format_duration(run.get("wall_time_s")), True),
        (format_number(run.get("steps_per_second")), True),
        (str(run.get("device", DASH)), False),
        (str(run.get("precision", DASH)), False),
        *([] if dln else [(str((run.get("data") or {}).get("short", DASH)), False)]),
    ]


def test_accuracy_text(run: dict) -> str:
    """The final test accuracy; for noisy BN also the one with BN statistics re-estimated
    without the noise (eval mode drops the noise its running statistics were gathered with)."""
    text = format_percent(run.get("final_test_accuracy"))
    noise_free = (run.get("noise_free_statistics_test") or {}).get("test_accuracy")
    if noise_free is not None:
        text += f" ({format_percent(noise_free)} with noise-free BN statistics)"
    return text


def sorted_runs(runs: list[dict]) -> list[dict]:
    """The paper's network first, then each other network (bnopt.catalog.MODELS), each by
    normalisation, lr and seed."""
    order, models = list(catalog.NORMALIZATIONS), list(catalog.MODELS)

    def key(run):
        model, normalization = run.get("model", PAPER_MODEL), run.get("normalization")
        model_rank = models.index(model) if model in models else len(models)
        rank = order.index(normalization) if normalization in order else len(order)
        return (model_rank, rank, str(normalization), float(run.get("lr") or 0),
                str(run.get("seed")))  # fmt: skip

    return sorted(runs, key=key)


def run_table(runs: list[dict], dln: bool = False) -> dict:
    return {
        "css": "dln-runs" if dln else "runs",
        "columns": DLN_RUN_COLUMNS if dln else RUN_COLUMNS,
        "rows": [run_cells(run, dln) for run in sorted_runs(runs)],
    }


def software_versions(runs: list[dict]) -> list[tuple[str, str]]:
    """(package, versions seen across the runs) from their meta.json, plus this process's."""
    import importlib.metadata as metadata
    import platform

    seen: dict[str, set] = {}
    for run in runs:
        for package, version in (run.get("versions") or {}).items():
            if version is not None:
                seen.setdefault(package, set()).add(str(version))
    for package in ("snakemake", "pandas", "matplotlib", "seaborn", "jinja2"):
        try:
            seen.setdefault(package, set()).add(metadata.version(package))
        except metadata.PackageNotFoundError:
            continue
    seen.setdefault("python (report)", set()).add(platform.python_version())
    return [(package, ", ".join(sorted(versions))) for package, versions in seen.items()]


def git_commit(folder) -> str:
    """The commit of the workflow's checkout (with "modified" if it has changes), or why not."""
    import subprocess

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=20
        )

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return "not a git checkout"
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "git not available"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def appendix(runs: list[dict], workflow_folder) -> dict:
    provenance = sorted({str((run.get("data") or {}).get("description") or DASH) for run in runs})
    wall = sum(float(run.get("wall_time_s") or 0) for run in runs)
    return {
        "versions": software_versions(runs),
        "commit": git_commit(workflow_folder) if workflow_folder else "unknown",
        "provenance": provenance,
        "wall_time": format_duration(wall),
    }


def summary_rows(runs: list[dict]) -> list[tuple[str, str, str]]:
    """(run, final training accuracy, final test accuracy) of every VGG run."""
    return [
        (str(run.get("run", DASH)), format_percent(run.get("final_train_accuracy")),
         test_accuracy_text(run))
        for run in sorted_runs(runs)
    ]  # fmt: skip


def report_title(config: dict, runs: list[dict] = ()) -> str:
    sources = "; ".join(data_sources(config, runs, "short"))
    return f"How does batch normalization help optimization? Reproduction report, {sources}"


def build_report(
    config: dict,
    runs: list[dict],
    figures: list[dict],
    claims: pd.DataFrame,
    out_path,
    dln_runs: list[dict] = (),
    workflow_folder=CHECKOUT,
) -> None:
    """Write the report to `out_path` as a single HTML file with everything embedded.

    `claims` is results/claims.tsv (bnopt.claims.read_claims), one row per judged part;
    `runs` are the VGG training runs' metadata, `dln_runs` the deep linear network's;
    `workflow_folder` is the checkout whose git commit the appendix names.
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    claims = claim_summaries(claims)
    title = report_title(config, runs)
    document = environment.get_template(Path(RESOURCES[0]).name).render(
        title=title,
        summary=summary_text(config, runs, claims, dln_runs),
        claim_headers=CLAIM_HEADERS,
        claims=claim_rows(claims),
        figures=[figure_item(figure, claims) for figure in figures],
        runs=run_table(runs),
        summary_rows=summary_rows(runs),
        verdict_badges=verdict_badges(claims),
        groups=claim_groups(claims),
        appendix=appendix([*runs, *dln_runs], workflow_folder),
        dln_runs=run_table(dln_runs, dln=True) if dln_runs else None,
        config_yaml=yaml.safe_dump(
            config, sort_keys=False, allow_unicode=True, default_flow_style=False
        ),
    )
    write_text(out_path, document)
