"""The benchmark command runs and reports every measure (no timing is asserted)."""

import json
import subprocess
import sys

import pytest

from bnopt import bench


@pytest.mark.slow
def test_bench_prints_every_measure(tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = ["--device", "cpu", "--widths", "0.0625", "--norms", "none", "batch",
            "--steps", "3", "--probe-every", "2", "--threads", "1", "--repeats", "2",
            "--json", str(out)]  # fmt: skip
    bench.main(args)
    printed = capsys.readouterr().out
    for word in ("ms/step", "bare ms", "img/s", "MFU", "probe overhead", "with curvature",
                 "evaluation", "noise floor"):  # fmt: skip
        assert word in printed
    rows = json.loads(out.read_text())
    steps = [r for r in rows if "ms_per_step" in r]
    assert {r["normalization"] for r in steps} == {"none", "batch"}
    assert all(r["ms_per_step"] > 0 and r["bare_ms_per_step"] > 0 for r in steps)
    assert "best of 2 timed runs" in printed and all(r["repeats"] == 2 for r in steps)
    floor = next(r for r in rows if "noise_floor" in r)
    assert floor["noise_floor"] == 0.0  # CPU arithmetic is deterministic


BLOCKED_IMPORTS = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("snakemake", "jsonschema"):
            raise ImportError(f"{name} is not installed on the GPU machine")
sys.meta_path.insert(0, Blocker())
import bnopt.bench
print("imported")
"""


def test_the_bench_imports_without_snakemake_or_jsonschema():
    """The GPU machine has torch, numpy and the plotting stack, but no Snakemake."""
    result = subprocess.run([sys.executable, "-c", BLOCKED_IMPORTS], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "imported"


@pytest.mark.parametrize(
    ("vendor", "family", "flags", "per_cycle"),
    [
        ("GenuineIntel", 6, {"fma", "avx2", "avx512f"}, 64),  # Xeon Scalable: 2 x 512-bit FMA
        ("AuthenticAMD", 0x19, {"fma", "avx2", "avx512f"}, 32),  # Zen 4: AVX-512 on 256-bit
        ("AuthenticAMD", 0x1A, {"fma", "avx2", "avx512f"}, 64),  # Zen 5
        ("AuthenticAMD", 0x17, {"fma", "avx2"}, 32),  # Zen 2
        ("GenuineIntel", 6, {"sse2"}, 8),
    ],
)
def test_the_cpu_peak_counts_the_cores_real_fma_width(vendor, family, flags, per_cycle):
    assert bench.fp32_flops_per_cycle(vendor, family, flags) == per_cycle
