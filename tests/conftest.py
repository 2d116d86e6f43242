import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bnopt import data, synthetic_images
from bnopt.execution import Execution

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items):
    """The slow tests first, the workflow's end-to-end runs before the rest: with one worker
    per core (make test), the quick tests run beside them instead of after them."""
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None,
                                 item.path.parent.name != "workflow"))  # fmt: skip


class FakeIO(list):
    """Stands in for Snakemake's Namedlist: positional and named access."""

    def __init__(self, *items, **named):
        super().__init__([*items, *named.values()])
        for key, value in named.items():
            setattr(self, key, value)
        self._named = named

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._named[key]
        return super().__getitem__(key)

    def get(self, key, default=None):
        return self._named.get(key, default)


class FakeSnakemake:
    def __init__(
        self, input=None, output=None, params=None, log=None, threads=1, wildcards=None,
        config=None, rule="rule",
    ):  # fmt: skip
        self.input = input or FakeIO()
        self.output = output or FakeIO()
        self.params = params or FakeIO()
        self.log = log or FakeIO()
        self.threads = threads
        self.wildcards = wildcards or FakeIO()
        self.config = config or {}
        self.rule = rule


def tiny_settings(**overrides) -> dict:
    """A training run that takes about a second on a CPU."""
    settings = {
        "run": "batch_lr0.1_seed0",
        "model": "vgg_a",
        "normalization": "batch",
        "lr": 0.1,
        "seed": 0,
        "width": 0.0625,
        "dataset": "synthetic",
        "steps": 30,
        "batch_size": 32,
        "momentum": 0.0,
        "weight_decay": 0.0,
        "eval_every": 10,
        "precision": "fp32",
        "device_type": "cpu",
        "deterministic": False,
        "augment": False,
        "probes": {
            "every": 5,
            "eta_multipliers": [0.5, 1, 2, 4],
            "ics_layers": [5, 10],
            "activation_layers": [2, 9, 10],
            "activation_samples": 16,
            "curvature_every": 10,
            "curvature_iterations": 5,
            "curvature_tolerance": 1e-3,
            "weights": True,
        },
    }
    settings.update(overrides)
    return settings


def tiny_execution(**overrides) -> Execution:
    """How the tiny runs execute: on the CPU, one thread, frequent logs and checkpoints."""
    return replace(Execution(device="cpu", threads=1, log_every=5, checkpoint_every=10),
                   **overrides)  # fmt: skip


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("tiny-data")
    archive = folder / "synthetic.tar.gz"
    synthetic_images.write_synthetic_archive(archive, 640, 100, seed=0)
    out = folder / "synthetic.npz"
    data.prepare(archive, out)
    return str(out)


def run_outputs(folder) -> dict:
    return {
        k: str(folder / name)
        for k, name in [
            ("metrics", "metrics.tsv"),
            ("probes", "probes.tsv"),
            ("meta", "meta.json"),
            ("weights", "model.pt"),
        ]
    }


def tidy_rows(normalization, lr, quantity, steps, values, seed=0, diverged_at=np.nan, **extra):
    """Rows of one run and quantity: `values` is one number per step."""
    run = f"{normalization}_lr{lr:g}_seed{seed}"
    return [
        {
            "run": run,
            "normalization": normalization,
            "lr": lr,
            "seed": seed,
            "step": step,
            "quantity": quantity,
            "value": value,
            "layer": extra.get("layer", np.nan),
            "eta": extra.get("eta", np.nan),
            "diverged_at": diverged_at,
        }
        for step, value in zip(steps, values, strict=True)
    ]


def workflow_copy(folder: Path) -> Path:
    """The workflow's own files in a fresh folder, as a user's clone would have them."""
    for name in ("Snakefile", "environment.yml"):
        shutil.copy(ROOT / name, folder / name)
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.fixture
def copy(tmp_path):
    """A user's copy of the workflow (tests/workflow)."""
    return workflow_copy(tmp_path)
