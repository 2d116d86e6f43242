"""The report as a reader sees it: rendered by headless Chromium, from a file, offline.

Run by `make test-browser` (which installs Debian's chromium first); skipped where no
chromium is installed, so that `make test` needs no browser.
"""

import html
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from bnopt import report
from bnopt.claims import COLUMNS, CONTRADICTED, INCONCLUSIVE, NOT_MEASURABLE, SUPPORTED
from bnopt.figures import FIGURE
from bnopt.plots import new_figure, save_figure

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-quic",
]  # fmt: skip
WIDTH, HEIGHT = 1300, 2400


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    figures = []
    for name in ("fig1_training", "fig7_beta_smoothness"):
        fig = Figure(figsize=(6.8, 2.5))
        ax = fig.subplots()
        ax.plot([0, 1, 2], [2.3, 1.0, 0.4], color="tab:blue")
        ax.set_title(name)
        save_figure(fig, folder / f"{name}.png", folder / f"{name}.pdf")
        figures.append({"name": name, "png": str(folder / f"{name}.png"),
                        "caption": FIGURE[name].caption()})  # fmt: skip
    shared = {"experiment": "training", "paper": "p", "rule": "r", "statistic": "s",
              "scale": "difference", "estimate": 0.3, "low": 0.2, "high": 0.4, "steps": 20,
              "seeds": 2, "per_seed": "seed 0: +0.3; seed 1: +0.3"}  # fmt: skip
    claims = pd.DataFrame(
        [
            {**shared, "claim": "BN trains faster", "figure": "fig1_training",
             "outcome": SUPPORTED, "part_outcome": SUPPORTED, "reason": "BN was faster.",
             "part": "BN − Standard accuracy", "group": "training"},
            {**shared, "claim": "BN lowers beta", "figure": "fig7_beta_smoothness",
             "outcome": CONTRADICTED, "part_outcome": CONTRADICTED, "reason": "It did not.",
             "part": "BN / Standard β", "group": "landscape", "scale": "log10 ratio"},
        ],
        columns=COLUMNS,
    )  # fmt: skip
    runs = [
        {"run": "batch_lr0.1_seed0", "normalization": "batch", "lr": 0.1, "seed": 0,
         "final_train_accuracy": 0.99, "final_test_accuracy": 0.8, "wall_time_s": 10}
    ]  # fmt: skip
    out = folder / "report.html"
    report.build_report({"data": {"dataset": "synthetic"}}, runs, figures, claims, out)
    return out


def test_the_report_renders_to_a_page_with_its_figures(report_file, tmp_path):
    shot = tmp_path / "report.png"
    result = chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}",
                      report_file.as_uri())  # fmt: skip
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    # not blank: text, tables, verdict colours and the figures' lines are drawn
    assert (pixels.std(axis=(0, 1)) > 0.05).all()
    greenish = (pixels[..., 1] > pixels[..., 0] + 0.05) & (pixels[..., 1] > pixels[..., 2])
    assert greenish.mean() > 1e-4  # the "supported" verdict cell


PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const requests = performance.getEntriesByType("resource").map((entry) => entry.name);
  document.body.dataset.images = images.length;
  document.body.dataset.decoded = images.filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.requests = requests.filter((name) => !name.startsWith("data:")).length;
});
</script>"""


def test_every_image_decodes_and_no_request_leaves_the_file(report_file, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(report_file.read_text().replace("</body>", PROBE + "</body>"))
    result = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    body = re.search(r"<body[^>]*>", result.stdout).group(0)
    attributes = dict(re.findall(r'data-(\w+)="(\d+)"', body))
    assert attributes == {"images": "2", "decoded": "2", "requests": "0"}, body


def test_the_rendered_document_has_every_section_and_loads_nothing(report_file, tmp_path):
    result = chromium(tmp_path, "--dump-dom", report_file.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for anchor in ("summary", "claims", "figures", "runs", "appendix", "configuration"):
        assert f'id="{anchor}"' in dom
    assert dom.count("<img") == 2 and "data:image/png;base64," in dom
    # nothing to fetch: no external address outside the printed configuration
    assert "http://" not in dom and "https://" not in dom.split("<pre>")[0]


@pytest.fixture(scope="module")
def demo_like_report(tmp_path_factory) -> Path:
    """A report with what made the demo's overflow at 800 px: long claims judged on long
    figure names in every verdict, a full-width and a one-column figure, twelve-column run
    tables, long provenance."""
    folder = tmp_path_factory.mktemp("demo-report")
    figures = []
    for name, panels in (("dln_landscape", 3), ("fig6_gradient_predictiveness", 1)):
        fig, axes = new_figure(1, panels)  # full width (6.8 in) or one column (3.3 in)
        for ax in axes:
            ax.plot([0, 1, 2], [2.3, 1.0, 0.4], color="tab:blue")
            ax.set_xlabel("Step")
        save_figure(fig, folder / f"{name}.png", folder / f"{name}.pdf")
        figures.append({"name": name, "png": str(folder / f"{name}.png")})
    shared = {"experiment": "landscape", "paper": "BN makes the gradients more predictive "
              "(Fig 4b): ‖∇L(w − ηg) − g‖₂ stays small over η ∈ [0.5, 4] × lr",
              "rule": "r" * 40, "statistic": "s", "scale": "log10 ratio", "estimate": -0.3,
              "low": -0.4, "high": -0.2, "steps": 20, "seeds": 2,
              "per_seed": "seed 0: −0.31; seed 1: −0.29", "group": "landscape",
              "figure": "fig6_gradient_predictiveness, grad_change_vs_eta, dln_landscape",
              "part": "BN / Standard upper edge of ‖∇L(w − ηg) − g‖₂, steps before 250, lr 0.1",
              "reason": "The upper edge was lower with BN at every paired step."}  # fmt: skip
    claims = pd.DataFrame(
        [{**shared, "claim": f"Claim {k}: BatchNorm makes the gradient more predictive",
          "outcome": verdict, "part_outcome": verdict}
         for k, verdict in enumerate((SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_MEASURABLE))],
        columns=COLUMNS,
    )  # fmt: skip
    runs = [
        {"run": f"{normalization}_lr{lr}_seed{seed}", "normalization": normalization,
         "lr": lr, "seed": seed, "final_train_accuracy": 0.99, "final_test_accuracy": 0.8,
         "wall_time_s": 1234, "steps_per_second": 12.5, "device": "NVIDIA H200 (cuda:0)",
         "precision": "bf16-mixed", "data": {"short": "CIFAR-10 (torchvision download)"}}
        for normalization in ("none", "batch", "noisy_batch") for lr in (0.1, 0.5)
        for seed in (0, 1)
    ]  # fmt: skip
    out = folder / "report.html"
    report.build_report({"data": {"dataset": "synthetic"}}, runs, figures, claims, out)
    return out


# The report in an iframe `width` px wide (headless Chromium's window is at least 500 px
# wide): whether the page scrolls sideways, and where each claim's verdict cell lies.
FRAMED = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="page" style="width: %dpx; height: 900px; border: 0" srcdoc="%s"></iframe>
<script>
document.getElementById("page").addEventListener("load", (event) => {
  const doc = event.target.contentDocument, root = doc.documentElement, out = document.body;
  out.dataset.scroll = root.scrollWidth;
  out.dataset.client = root.clientWidth;
  const verdicts = [...doc.querySelectorAll("table.claims td.verdict")];
  out.dataset.verdicts = verdicts.length;
  out.dataset.shown = verdicts.filter((cell) => {
    const own = cell.getBoundingClientRect();
    const box = cell.closest(".table-scroll").getBoundingClientRect();
    return own.width > 40 && own.left >= box.left - 1 && own.right <= box.right + 1
      && own.right <= root.clientWidth && cell.textContent.trim().length > 0;
  }).length;
  const claims = doc.querySelector("table.claims").parentElement;
  out.dataset.claimsfit = claims.scrollWidth <= claims.clientWidth ? 1 : 0;
  const column = doc.body.clientWidth - 2 * parseFloat(getComputedStyle(doc.body).paddingLeft);
  out.dataset.figures = [...doc.querySelectorAll("figure img")]
    .map((img) => Math.round(100 * img.getBoundingClientRect().width / column)).join(" ");
});
</script></body></html>"""


def framed(report_file: Path, width: int, tmp_path: Path) -> dict[str, str]:
    page = tmp_path / f"framed-{width}.html"
    page.write_text(FRAMED % (width, html.escape(report_file.read_text(), quote=True)))
    result = chromium(tmp_path, "--window-size=1400,1000", "--virtual-time-budget=10000",
                      "--dump-dom", page.as_uri())  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    body = re.search(r"<body[^>]*>", result.stdout).group(0)
    return dict(re.findall(r'data-(\w+)="([^"]*)"', body))


@pytest.mark.parametrize("width", [800, 390])
def test_the_report_reads_in_a_narrow_window_without_scrolling_sideways(
    demo_like_report, width, tmp_path
):
    """At 800 px the claims table overflowed and cut its verdict column off; on a phone
    (390 px) the whole page scrolled sideways. Now the page never does (a wide table scrolls
    within its own box), every verdict shows whole, the claims table fits (cards on a phone)
    and a full-width figure fills the column."""
    assert '<meta name="viewport" content="width=device-width' in demo_like_report.read_text()
    seen = framed(demo_like_report, width, tmp_path)
    assert int(seen["scroll"]) <= int(seen["client"]), seen
    assert seen["verdicts"] == seen["shown"] == "4", seen
    assert seen["claimsfit"] == "1", seen
    full, one_column = (int(share) for share in seen["figures"].split())
    assert full >= 95, seen  # the full-width figure fills the column
    if width < 500:
        assert one_column >= 95, seen  # so does every figure on a phone
    else:
        assert 40 <= one_column <= 60, seen  # elsewhere half of it: text of the same size
