import base64
import html
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from matplotlib.figure import Figure

from bnopt import plots, report
from bnopt.claims import CLAIM_GROUPS, CONTRADICTED, INCONCLUSIVE, NOT_MEASURABLE, SUPPORTED
from bnopt.claims import COLUMNS as CLAIM_COLUMNS
from bnopt.figures import FIGURE, PAPER_FIGURES

FIGURE_NAMES = list(PAPER_FIGURES)
VERDICTS = [
    SUPPORTED,
    CONTRADICTED,
    NOT_MEASURABLE,
    INCONCLUSIVE,
    SUPPORTED,
    CONTRADICTED,
    SUPPORTED,
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ReportParser(HTMLParser):
    """Collects images, resource references and the cells of every table."""

    def __init__(self):
        super().__init__()
        self.images, self.references = [], []
        self.tables: dict[str, list[list[str]]] = {}
        self.cell_classes: dict[str, list[list[str]]] = {}
        self.table = None
        self.cell = None
        self.pre = []
        self.in_pre = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if name in attrs:
                self.references.append(attrs[name])
        if tag == "img":
            self.images.append(attrs)
        elif tag == "table":
            self.table = attrs.get("class", "")
            self.tables[self.table], self.cell_classes[self.table] = [], []
        elif tag == "tr" and self.table is not None:
            self.tables[self.table].append([])
            self.cell_classes[self.table].append([])
        elif tag == "td" and self.table is not None:
            self.cell = []
            self.cell_classes[self.table][-1].append(attrs.get("class", ""))
        elif tag == "pre":
            self.in_pre = True

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.tables[self.table][-1].append("".join(self.cell))
            self.cell = None
        elif tag == "table":
            self.table = None
        elif tag == "pre":
            self.in_pre = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.in_pre:
            self.pre.append(data)

    def rows(self, table: str) -> list[list[str]]:
        return [row for row in self.tables[table] if row]  # skip the header row (th only)


def write_png(path) -> None:
    fig = Figure(figsize=(1, 1), dpi=20)
    fig.subplots().plot([0, 1], [0, 1])
    fig.savefig(path)


LOCAL_ARCHIVE = {
    "origin": "local",
    "archive": "mine.tar.gz",
    "md5": "0123abcd" * 4,
    "official_cifar10": False,
    "short": "mine.tar.gz (md5 0123abcd, not official)",
    "description": "local archive mine.tar.gz (md5 0123abcd0123abcd0123abcd0123abcd): not the "
    "official CIFAR-10",
}


def make_runs() -> list[dict]:
    return [
        {
            "run": "none_lr0.5_seed0",
            "normalization": "none",
            "lr": 0.5,
            "seed": 0,
            "final_train_accuracy": 0.1,
            "final_test_accuracy": 0.1,
            "diverged": True,
            "diverged_at": 230,
            "wall_time_s": 12.5,
            "steps_per_second": 18.4,
            "device": "NVIDIA H100 <80GB>",
            "precision": "fp32",
            "extra": "ignored",
            "data": LOCAL_ARCHIVE,
        },
        {
            "run": "batch_lr0.1_seed0",
            "normalization": "batch",
            "lr": 0.1,
            "seed": 0,
            "final_train_accuracy": 0.9876,
            "final_test_accuracy": 0.8312,
            "diverged": False,
            "diverged_at": None,
            "wall_time_s": 3725.0,
            "steps_per_second": 4.03,
            "device": "NVIDIA H100 <80GB>",
            "precision": "fp32",
            "data": LOCAL_ARCHIVE,
        },
    ]


def claim_row(claim: str, figure: str, outcome: str, **extra) -> dict:
    """One judged part as results/claims.tsv holds it."""
    row = {
        "claim": claim, "experiment": "landscape", "group": "landscape", "figure": figure,
        "outcome": outcome, "reason": f"reason of {claim}", "part": f"part of {claim}",
        "statistic": "mean over steps of BN − Standard", "scale": "log10 ratio",
        "estimate": -0.5, "low": -0.7, "high": -0.3, "steps": 12, "seeds": 2,
        "per_seed": "seed 0: ×0.251; seed 1: ×0.398",
        "part_outcome": outcome, "paper": "paper reading", "rule": "rule & interval < 0",
    }  # fmt: skip
    return {**row, **extra}


def make_claims() -> pd.DataFrame:
    rows = [
        claim_row(f"Claim {i} <b>with markup</b>", FIGURE_NAMES[i], verdict)
        for i, verdict in enumerate(VERDICTS)
    ]
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


CONFIG = {
    "data": {"dataset": "cifar10"},
    "train": {"steps": 15000, "batch_size": 128, "lrs": [0.1, 0.5]},
    "note": "<script>alert(1)</script>",
}


@pytest.fixture
def built(tmp_path) -> tuple[str, ReportParser]:
    figures = []
    for name in FIGURE_NAMES:
        png = tmp_path / f"{name}.png"
        write_png(png)
        figures.append({"name": name, "png": str(png), "caption": FIGURE[name].caption()})
    out = tmp_path / "report" / "report.html"
    report.build_report(CONFIG, make_runs(), figures, make_claims(), out)
    text = out.read_text(encoding="utf-8")
    parser = ReportParser()
    parser.feed(text)
    return text, parser


def test_all_figures_embedded_as_png_data_uris(built):
    _, parser = built
    assert len(parser.images) == 7
    for image in parser.images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        assert base64.b64decode(image["src"][len(prefix) :]).startswith(PNG_SIGNATURE)
    assert [image["alt"] for image in parser.images] == FIGURE_NAMES


def test_captions_shown(built):
    text = " ".join(built[0].split())
    assert "<strong>Loss landscape</strong> (paper Fig 4a). Top row: at every probed step t" in text
    assert "only η in [0.5, 4] × lr are shown" in text


def test_claims_table_lists_every_claim_and_verdict(built):
    _, parser = built
    rows = parser.rows("claims")
    assert len(rows) == 7
    assert [row[-1] for row in rows] == VERDICTS
    assert rows[0][0] == "Claim 0 <b>with markup</b>"  # escaped, so read back as text
    verdict_classes = [classes[-1] for classes in parser.cell_classes["claims"] if classes]
    assert "verdict supported" in verdict_classes and "verdict inconclusive" in verdict_classes
    assert "verdict contradicted" in verdict_classes
    # each judged part: its estimate and 95% interval (a log10 ratio as a factor), steps, seeds
    text, _ = built
    part = "part of Claim 0 &lt;b&gt;with markup&lt;/b&gt;"
    assert f"{part}: ×0.316 [×0.2, ×0.501]; 12 paired" in text
    assert text.count("12 paired steps, 2 seeds (seed 0: ×0.251; seed 1: ×0.398)") == len(VERDICTS)
    assert "verdict not-measurable" in verdict_classes


def test_each_figure_caption_gives_the_verdicts_judged_on_it(tmp_path):
    names = ["fig6_gradient_predictiveness", "grad_change_vs_eta", "lr_envelope_not_a_landscape"]
    figures = []
    for name in names:
        write_png(tmp_path / f"{name}.png")
        figures.append({"name": name, "png": str(tmp_path / f"{name}.png")})
    claims = pd.DataFrame(
        [claim_row("BN <predicts>", "fig6_gradient_predictiveness, grad_change_vs_eta",
                   CONTRADICTED)],
        columns=CLAIM_COLUMNS,
    )  # fmt: skip
    out = tmp_path / "report.html"
    report.build_report(CONFIG, make_runs(), figures, claims, out)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", out.read_text(), re.S)
    assert len(captions) == 3
    for caption in captions[:2]:
        assert 'Verdicts: BN &lt;predicts&gt;: <span class="verdict contradicted">' in caption
    assert "No claim of the paper is judged on this figure." in captions[2]


def test_run_table_matches_runs(built):
    _, parser = built
    rows = {row[0]: row for row in parser.rows("runs")}
    assert set(rows) == {"none_lr0.5_seed0", "batch_lr0.1_seed0"}
    standard = rows["none_lr0.5_seed0"]
    assert standard[1:7] == ["Standard", "0.5", "0", "10.0%", "10.0%", "step 230"]
    assert standard[9:] == ["NVIDIA H100 <80GB>", "fp32", LOCAL_ARCHIVE["short"]]
    batchnorm = rows["batch_lr0.1_seed0"]
    assert batchnorm[1:9] == [
        "Standard + BatchNorm",
        "0.1",
        "0",
        "98.8%",
        "83.1%",
        "—",
        "1h 02m 05s",
        "4.0",
    ]


def test_summary_counts_come_from_inputs(built):
    text, _ = built
    assert "2 training runs on local archive mine.tar.gz (md5 0123abcd" in text
    assert "not the official CIFAR-10" in text
    assert "1 run diverged" in text
    assert "3 supported, 2 contradicted, 1 inconclusive, 1 not measurable" in text
    assert "NVIDIA H100 &lt;80GB&gt;" in text


def test_deep_linear_network_runs_are_summarised_and_listed_apart(tmp_path):
    dln_runs = [
        {"run": f"{n}_lr1e-06_seed0", "normalization": n, "lr": 1e-6, "seed": 0,
         "final_train_loss": loss, "diverged": False, "wall_time_s": 30.0,
         "steps_per_second": 330.0, "device": "cpu", "precision": "fp32"}
        for n, loss in (("none", 12345.678), ("l2", 0.00123))
    ]  # fmt: skip
    out = tmp_path / "report.html"
    report.build_report(CONFIG, make_runs(), [], make_claims(), out, dln_runs)
    text = out.read_text()
    # the VGG runs' learning rates are not mixed with the DLN's
    assert "not the official CIFAR-10 (Standard, Standard + BatchNorm; learning rates 0.1," in text
    assert "2 deep-linear-network runs (Standard, " in text and "learning rate 1e-06" in text
    parser = ReportParser()
    parser.feed(text)
    assert len(parser.rows("runs")) == 2
    rows = parser.rows("dln-runs")
    assert [row[0] for row in rows] == ["none_lr1e-06_seed0", "l2_lr1e-06_seed0"]
    assert [row[4] for row in rows] == ["1.23e+04", "0.00123"]  # final training loss


def test_config_dumped_and_escaped(built):
    text, parser = built
    dumped = "".join(parser.pre)
    assert "dataset: cifar10" in dumped
    assert "batch_size: 128" in dumped
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_no_network_references(built):
    text, parser = built
    assert all(not ref.startswith(("http://", "https://", "//")) for ref in parser.references)
    assert "<script" not in text and "<link" not in text
    assert "url(" not in text


def test_a_caption_is_rendered_from_its_restructuredtext():
    html_caption = report.caption_html("**Bold** (paper Fig 1). ``a < b`` & w_t, ‖g‖₂.")
    assert html_caption.startswith("<strong>Bold</strong> (paper Fig 1).")
    assert '<tt class="docutils literal">a &lt; b</tt> &amp; w_t, ‖g‖₂.' in html_caption


def test_claim_groups_become_heading_rows_in_one_table(tmp_path):
    claims = make_claims().assign(group=["training"] * 2 + ["ics"] * 2 + ["landscape"] * 3)
    extra = pd.DataFrame(
        [
            {**claims.iloc[0].to_dict(), "claim": "noisy claim", "group": "noisy"},
            {**claims.iloc[0].to_dict(), "claim": "lp claim", "group": "lp"},
        ]
    )
    out = tmp_path / "report.html"
    report.build_report(CONFIG, make_runs(), [], pd.concat([claims, extra]), out)
    text = out.read_text(encoding="utf-8")
    parser = ReportParser()
    parser.feed(text)
    # still one claims table (beside the summary, runs and appendix tables)
    assert set(parser.tables) == {"summary", "claims", "runs", "appendix"}
    assert [row[0] for row in parser.rows("claims")][-2:] == ["noisy claim", "lp claim"]
    titles = [CLAIM_GROUPS[group] for group in ("training", "ics", "landscape", "noisy", "lp")]
    positions = [text.index(html.escape(title)) for title in titles]
    assert positions == sorted(positions)
    assert text.count('class="claim-group"') == 5
    assert "9 were checked" in text


def test_missing_caption_falls_back_to_default(tmp_path):
    png = tmp_path / "fig.png"
    write_png(png)
    out = tmp_path / "report.html"
    figures = [{"name": "fig7_beta_smoothness", "png": png, "caption": ""}]
    report.build_report(CONFIG, [], figures, make_claims(), out)
    text = out.read_text(encoding="utf-8")
    assert "<strong>Effective beta-smoothness</strong> (paper Fig 4c). At every probed" in text


def test_non_png_figure_is_rejected(tmp_path):
    bogus = tmp_path / "fig.png"
    bogus.write_bytes(b"not a png")
    figures = [{"name": "fig1_training", "png": bogus, "caption": "x"}]
    with pytest.raises(ValueError, match="not a PNG"):
        report.build_report(CONFIG, [], figures, make_claims(), tmp_path / "r.html")


def test_the_title_and_summary_say_where_the_data_came_from(tmp_path):
    out = tmp_path / "report.html"
    report.build_report(CONFIG, make_runs(), [], make_claims(), out)
    title = re.search(r"<title>(.*?)</title>", out.read_text()).group(1)
    assert title.endswith("report, mine.tar.gz (md5 0123abcd, not official)")
    # Runs recorded before provenance was fall back to the config's dataset name.
    old_runs = [{k: v for k, v in run.items() if k != "data"} for run in make_runs()]
    report.build_report(CONFIG, old_runs, [], make_claims(), out)
    assert "2 training runs on cifar10 (" in out.read_text()


def test_the_report_has_a_table_of_contents_whose_links_all_resolve(built):
    text, parser = built
    anchors = set(re.findall(r'id="([^"]+)"', text))
    links = set(re.findall(r'href="#([^"]+)"', text))
    assert links and links <= anchors, links - anchors
    assert {"summary", "claims", "figures", "runs", "appendix", "configuration"} <= links
    assert all(name in links for name in FIGURE_NAMES)


def test_every_figure_names_the_papers_figure_and_shows_at_print_size(built, tmp_path):
    text, _ = built
    for name in FIGURE_NAMES:
        assert f"[paper: {html.escape(FIGURE[name].paper)}]" in text
    png = tmp_path / "wide.png"
    write_png(png)
    width = int.from_bytes(png.read_bytes()[16:20], "big")
    assert report.display_width(png) == round(width * 96 / 180)
    assert report.FIGURE_DPI == plots.DPI  # the report's copy of the figures' resolution
    # shown as a share of the column: a full-width figure (6.8 in and its margin) fills it,
    # a one-column figure (3.3 in) about half of it, so that text reads alike in both
    share = report.display_share(png)
    assert share == min(100.0, round(100 * report.display_width(png) / (7.0 * 96), 1))
    assert f'style="--share: {share}%"' in html_of_figure(png, tmp_path)
    for inches, expected in ((plots.FULL_WIDTH + 0.11, 98.7), (plots.COLUMN_WIDTH + 0.11, 48.7)):
        sized = tmp_path / f"{inches}.png"
        Figure(figsize=(inches, 0.5), dpi=plots.DPI).savefig(sized)  # as saved: 180 dpi
        assert report.display_share(sized) == pytest.approx(expected, abs=0.2)


def html_of_figure(png, tmp_path) -> str:
    out = tmp_path / "one-figure.html"
    figure = {"name": "fig1_training", "png": str(png)}
    report.build_report({}, [], [figure], pd.DataFrame(columns=CLAIM_COLUMNS), out)
    return out.read_text()


def test_the_appendix_names_the_commit_the_data_the_versions_and_the_wall_time(built):
    text, parser = built
    appendix = text[text.index('id="appendix"') : text.index('id="configuration"')]
    for heading in ("Workflow commit", "Data", "Training wall time, all runs", "snakemake"):
        assert f"<th>{heading}</th>" in appendix
    cells = [cell for row in parser.rows("appendix") for cell in row]
    assert any("mine.tar.gz" in cell for cell in cells)
    summary = parser.rows("summary")
    assert [row[0] for row in summary if row] == ["none_lr0.5_seed0", "batch_lr0.1_seed0"]


def test_git_commit_is_named_or_the_reason_it_is_not(tmp_path):
    assert report.git_commit(tmp_path) == "not a git checkout"
    commit = report.git_commit(report.CHECKOUT)
    assert re.fullmatch(r"[0-9a-f]{40}( \(with uncommitted changes\))?", commit) or commit in (
        "not a git checkout",
        "git not available",
    )


def test_another_experiments_figure_and_claims_are_titled_after_it(tmp_path):
    from bnopt.report import figure_item, group_title

    assert group_title("lp") == CLAIM_GROUPS["lp"]
    assert group_title("resnet_landscape") == "Beyond the paper: experiment resnet_landscape"
    png = tmp_path / "fig.png"
    write_png(png)
    name = "resnet_landscape/fig5_loss_landscape"
    item = figure_item({"name": name, "png": str(png)}, pd.DataFrame(columns=CLAIM_COLUMNS))
    assert item["paper"] == "Fig 4a" and item["name"] == "resnet_landscape/fig5_loss_landscape"


def test_the_summary_counts_the_papers_claims_apart_from_other_experiments():
    from bnopt.report import summary_text

    claims = report.claim_summaries(make_claims())
    beyond = claims.iloc[:2].assign(group="resnet_landscape", verdict=SUPPORTED,
                                    claim=["b1", "b2"])  # fmt: skip
    text = summary_text(CONFIG, make_runs(), pd.concat([claims, beyond]), [])
    assert f"Of the paper's claims, {len(claims)} were checked" in text
    assert "Beyond the paper, the same claims on 1 other experiment: 2 checked, 2 supported" in text


def test_the_verdict_badges_never_add_another_experiments_verdicts_to_the_papers():
    from bnopt.report import verdict_badges

    claims = report.claim_summaries(make_claims())
    paper = verdict_badges(claims)
    assert [label for label, _ in paper] == ["The paper's claims"]
    beyond = claims.iloc[:2].assign(group="resnet_landscape", verdict=CONTRADICTED)
    both = verdict_badges(pd.concat([claims, beyond]))
    assert both[0] == paper[0]  # the paper's counts unchanged
    assert both[1][0] == "Beyond the paper"
    assert {verdict: count for verdict, count, _ in both[1][1]}[CONTRADICTED] == 2


def test_the_run_table_lists_the_papers_network_first_then_each_other_one():
    from bnopt.report import sorted_runs

    runs = [
        {"run": "resnet8_none_lr0.1_seed0", "model": "resnet8", "normalization": "none", "lr": 0.1},
        {"run": "batch_lr0.1_seed0", "model": "vgg_a", "normalization": "batch", "lr": 0.1},
        {"run": "none_lr0.5_seed0", "model": "vgg_a", "normalization": "none", "lr": 0.5},
        {"run": "resnet8_batch_lr0.1_seed0", "model": "resnet8", "normalization": "batch",
         "lr": 0.1},
    ]  # fmt: skip
    assert [run["run"] for run in sorted_runs(runs)] == [
        "none_lr0.5_seed0", "batch_lr0.1_seed0", "resnet8_none_lr0.1_seed0",
        "resnet8_batch_lr0.1_seed0",
    ]  # fmt: skip


def test_the_summary_names_the_networks_when_an_experiment_adds_one():
    from bnopt.report import runs_in_words

    vgg = {"model": "vgg_a", "normalization": "batch", "lr": 0.1, "seed": 0, "device": "cpu"}
    assert "VGG-A" not in runs_in_words([vgg])  # the paper's only: said elsewhere
    both = runs_in_words([vgg, dict(vgg, model="resnet20")])
    assert both.startswith("(VGG-A, ResNet-20; Standard + BatchNorm;")
