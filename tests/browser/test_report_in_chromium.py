"""The report as a reader sees it: rendered by headless Chromium, from a file, offline.

Run by `make test-browser` (which installs Debian's chromium first); skipped where no
chromium is installed, so that `make test` needs no browser.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from bnopt import report
from bnopt.claims import COLUMNS, CONTRADICTED, SUPPORTED
from bnopt.figures import FIGURE
from bnopt.plots import save_figure

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
