"""One self-contained HTML report: summary, claims, figures, runs and the resolved config.

The file needs no network: figures are embedded as base64 PNG data URIs and the styling is
inline CSS. Every number in it comes from the inputs; all text is HTML-escaped.
"""

import base64
import html
import math
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml
from docutils.core import publish_parts

from bnopt.claims import CLAIM_GROUPS
from bnopt.figures import FIGURE


def caption_html(rst: str) -> str:
    """A figure's caption (reStructuredText, workflow/report/<figure>.rst) as inline HTML,
    rendered by docutils as `snakemake --report` renders the same file."""
    settings = {"report_level": 5, "halt_level": 5, "warning_stream": False}
    body = publish_parts(rst, writer="html", settings_overrides=settings)["body"].strip()
    return body.removeprefix("<p>").removesuffix("</p>")


NORMALIZATION_LABELS = {
    "none": "Standard",
    "batch": "Standard + BatchNorm",
    "noisy_batch": "Standard + Noisy BatchNorm",
    "l1": "Standard + l1 norm",
    "l2": "Standard + l2 norm",
    "linf": "Standard + l∞ norm",
}
VERDICT_CLASSES = {
    "held": "held",
    "did not hold": "not-held",
    "not measurable at this scale": "not-measurable",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DASH = "—"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
       border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; margin: 0.8rem 0; }
th, td { border: 1px solid #ccc; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr.claim-group th { background: #e8eef6; font-size: 0.95rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { font-weight: 600; white-space: nowrap; } span.verdict { padding: 0 0.25rem; }
.held { background: #d4edda; color: #155724; }
.not-held { background: #f8d7da; color: #721c24; }
.not-measurable { background: #e2e3e5; color: #383d41; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #444; margin-top: 0.4rem; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


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


def normalization_label(normalization) -> str:
    return NORMALIZATION_LABELS.get(normalization, str(normalization))


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
    ordered = [n for n in NORMALIZATION_LABELS if n in present] + [
        n for n in present if n not in NORMALIZATION_LABELS
    ]
    normalizations = ", ".join(normalization_label(n) for n in ordered)
    lrs = [f"{float(lr):g}" for lr in sorted(distinct(runs, "lr"), key=float)]
    lr_words = "learning rate" if len(lrs) == 1 else "learning rates"
    seeds = len(distinct(runs, "seed"))
    return (
        f"({normalizations or 'no normalisation recorded'}; {lr_words} "
        f"{', '.join(lrs) or DASH}; {plural(seeds, 'seed')}), run on {devices}"
    )


def data_sources(config: dict, runs: list[dict], key: str = "description") -> list[str]:
    """Where the runs' data came from (meta.json `data`), in words; the config's dataset
    name for runs recorded before provenance was."""
    fallback = (config.get("data") or {}).get("dataset", "an unnamed dataset")
    found = {str((run.get("data") or {}).get(key) or fallback) for run in runs}
    return sorted(found) or [fallback]


def summary_paragraph(
    config: dict, runs: list[dict], claims: pd.DataFrame, dln_runs: list[dict] = ()
) -> str:
    dataset = "; ".join(data_sources(config, runs))
    diverged = sum(bool(run.get("diverged")) for run in [*runs, *dln_runs])
    verdicts = Counter(claims["verdict"]) if not claims.empty else Counter()
    claim_counts = ", ".join(f"{verdicts.get(verdict, 0)} {verdict}" for verdict in VERDICT_CLASSES)
    dln_text = (
        f" It also has {plural(len(dln_runs), 'deep-linear-network run')} "
        f"{runs_in_words(dln_runs)}."
        if dln_runs
        else ""
    )
    text = (
        f"This report collects {plural(len(runs), 'training run')} on {dataset} "
        f"{runs_in_words(runs)}.{dln_text} {plural(diverged, 'run')} diverged. "
        f"Of the paper's claims, {len(claims)} were checked: {claim_counts}."
    )
    return f"<p>{esc(text)}</p>"


CLAIM_HEADERS = ("Claim", "Figure", "Measured", "Paper", "Decision rule", "Verdict")


def verdict_class(verdict) -> str:
    return VERDICT_CLASSES.get(verdict, "not-measurable")


def group_title(group) -> str:
    return CLAIM_GROUPS.get(group, str(group))


def group_header_row(group) -> str:
    return (
        f'<tr class="claim-group"><th colspan="{len(CLAIM_HEADERS)}">'
        f"{esc(group_title(group))}</th></tr>"
    )


def claims_table(claims: pd.DataFrame) -> str:
    """One table, rows in the given (figure) order; a heading row starts each claim group."""
    header = "".join(f"<th>{name}</th>" for name in CLAIM_HEADERS)
    body = []
    previous_group = None
    for claim in claims.to_dict("records"):
        group = claim.get("group")
        if not is_missing(group) and group != previous_group:
            body.append(group_header_row(group))
            previous_group = group
        css_class = verdict_class(claim["verdict"])
        body.append(
            "<tr>"
            f"<td>{esc(claim['claim'])}</td>"
            f"<td>{esc(claim['figure'])}</td>"
            f"<td>{esc(claim['statistic'])}</td>"
            f"<td>{esc(claim['paper'])}</td>"
            f"<td>{esc(claim['rule'])}</td>"
            f'<td class="verdict {css_class}">{esc(claim["verdict"])}</td>'
            "</tr>"
        )
    return f'<table class="claims"><tr>{header}</tr>{"".join(body)}</table>'


def figure_verdicts(name: str, claims: pd.DataFrame) -> str:
    """The verdicts judged on this figure, as a caption line."""
    judged = [
        claim
        for claim in claims.to_dict("records")
        if name in [part.strip() for part in str(claim["figure"]).split(",")]
    ]
    if not judged:
        return "No claim of the paper is judged on this figure."
    items = "; ".join(
        f"{esc(claim['claim'])}: "
        f'<span class="verdict {verdict_class(claim["verdict"])}">'
        f"{esc(claim['verdict'])}</span>"
        for claim in judged
    )
    return f"Verdicts: {items}."


def figure_block(figure: dict, claims: pd.DataFrame) -> str:
    name = figure["name"]
    caption = caption_html(
        figure.get("caption") or (FIGURE[name].caption() if name in FIGURE else name)
    )
    verdicts = figure_verdicts(figure["name"], claims)
    return (
        f'<figure id="{esc(figure["name"])}">'
        f'<img src="{png_data_uri(figure["png"])}" alt="{esc(figure["name"])}">'
        f"<figcaption><code>{esc(figure['name'])}</code> {caption}"
        f'<br><span class="figure-verdicts">{verdicts}</span></figcaption>'
        "</figure>"
    )


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
            (format_percent(run.get("final_test_accuracy")), True),
        ]
    )
    return [
        (str(run.get("run", DASH)), False),
        (normalization_label(run.get("normalization")), False),
        (DASH if is_missing(run.get("lr")) else f"{float(run['lr']):g}", True),
        (DASH if is_missing(run.get("seed")) else str(run["seed"]), True),
        *results,
        (format_diverged(run), False),
        (format_duration(run.get("wall_time_s")), True),
        (format_number(run.get("steps_per_second")), True),
        (str(run.get("device", DASH)), False),
        (str(run.get("precision", DASH)), False),
        *([] if dln else [(str((run.get("data") or {}).get("short", DASH)), False)]),
    ]


def sorted_runs(runs: list[dict]) -> list[dict]:
    order = list(NORMALIZATION_LABELS)

    def key(run):
        normalization = run.get("normalization")
        rank = order.index(normalization) if normalization in order else len(order)
        return (rank, str(normalization), float(run.get("lr") or 0), str(run.get("seed")))

    return sorted(runs, key=key)


def runs_table(runs: list[dict], dln: bool = False) -> str:
    columns = DLN_RUN_COLUMNS if dln else RUN_COLUMNS
    header = "".join(f"<th>{name}</th>" for name in columns)
    body = []
    for run in sorted_runs(runs):
        cells = "".join(
            f'<td class="num">{esc(text)}</td>' if numeric else f"<td>{esc(text)}</td>"
            for text, numeric in run_cells(run, dln)
        )
        body.append(f"<tr>{cells}</tr>")
    table_class = "dln-runs" if dln else "runs"
    return f'<table class="{table_class}"><tr>{header}</tr>{"".join(body)}</table>'


def config_block(config: dict) -> str:
    dumped = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"<pre>{esc(dumped)}</pre>"


def report_title(config: dict, runs: list[dict] = ()) -> str:
    suffix = f" ({'; '.join(data_sources(config, runs, 'short'))})"
    return f"How does batch normalization help optimization? Reproduction report{suffix}"


def build_report(
    config: dict,
    runs: list[dict],
    figures: list[dict],
    claims: pd.DataFrame,
    out_path,
    dln_runs: list[dict] = (),
) -> None:
    """Write the report to `out_path` as a single HTML file with everything embedded.

    `runs` are the VGG training runs' metadata, `dln_runs` the deep linear network's.
    """
    title = report_title(config, runs)
    figure_html = (
        "".join(figure_block(figure, claims) for figure in figures) or "<p>No figures.</p>"
    )
    sections = [
        f"<h1>{esc(title)}</h1>",
        summary_paragraph(config, runs, claims, dln_runs),
        "<h2>Claims of the paper</h2>",
        claims_table(claims),
        "<h2>Figures</h2>",
        figure_html,
        "<h2>Runs</h2>",
        runs_table(runs),
        *(
            ["<h2>Deep linear network runs</h2>", runs_table(dln_runs, dln=True)]
            if dln_runs
            else []
        ),
        "<h2>Resolved configuration</h2>",
        config_block(config),
    ]
    document = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(document, encoding="utf-8")
