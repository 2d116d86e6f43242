"""The benchmark command runs and reports every measure (no timing is asserted)."""

import json

from bnopt import bench


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
