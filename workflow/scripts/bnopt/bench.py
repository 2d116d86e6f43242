"""Speed of a training step: the workflow's loop against a bare PyTorch loop, probe cost.

    python workflow/scripts/bench.py [--widths 1 0.125] [--norms none batch] [--steps N]

Prints, per precision, width and normalisation: ms per step, images per second, model FLOP
utilisation against the device's peak, for the workflow's own training loop (train_run, no
probes) and for the same step written as a bare loop; then the probe overhead at the
default cadence, the evaluation time and the peak GPU memory. Runs unchanged on a CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import probes
from .backend import autocast, configure_backend, resolve_device
from .config import section_defaults
from .execution import Execution, device_type
from .image_task import evaluate, to_inputs
from .models import NORMALIZATIONS, flops_per_image, vgg_a
from .optimizers import Optimizer, OptimizerSettings
from .training import train_run

# Dense peak TFLOP/s by device name fragment and precision (vendor data sheets).
GPU_PEAKS = {
    "H100": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4},
    "H200": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4},
    "A100": {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0},
}


def fp32_flops_per_cycle(vendor: str, family: int, flags: set[str]) -> int:
    """FP32 FLOP per cycle and core from the core's real FMA datapath, not its flags alone:
    two FMA units of 512 bits on Intel cores with AVX-512 (Xeon Scalable; 2 x 16 lanes x 2)
    and AMD Zen 5 (family 0x1A); AMD Zen 4 (family 0x19) runs AVX-512 on two 256-bit units
    (32, like AVX2 with FMA); 8 without FMA."""
    if "fma" not in flags:
        return 8
    if "avx512f" in flags and not (vendor == "AuthenticAMD" and family < 0x1A):
        return 64
    return 32


def cpu_info() -> tuple[str, int, set[str], float | None]:
    """Vendor, family, flags and maximum clock (MHz) of this machine's CPU (Linux)."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    field = lambda name: re.search(rf"^{name}\s*:\s*(.*)$", text, re.M)  # noqa: E731
    vendor, family, flags = field("vendor_id"), field("cpu family"), field("flags")
    mhz = None
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        found = re.search(r"CPU max MHz:\s+([\d.]+)", lscpu)
        mhz = float(found[1]) if found else None
    except OSError:
        pass
    if mhz is None and field("cpu MHz"):
        mhz = float(field("cpu MHz")[1])
    return (
        vendor[1].strip() if vendor else "",
        int(family[1]) if family and family[1].strip().isdigit() else 0,
        set(flags[1].split()) if flags else set(),
        mhz,
    )


def cpu_peak_tflops(threads: int) -> float | None:
    """threads x max clock x FP32 FLOP per cycle of the core (fp32_flops_per_cycle)."""
    vendor, family, flags, mhz = cpu_info()
    if mhz is None:
        return None
    return threads * mhz * 1e6 * fp32_flops_per_cycle(vendor, family, flags) / 1e12


def peak_tflops(device: torch.device, precision: str) -> float | None:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, peaks in GPU_PEAKS.items():
            if key in name:
                return peaks[precision]
        return None
    return cpu_peak_tflops(torch.get_num_threads())


def fake_dataset(folder: Path, n_train: int, n_test: int) -> str:
    rng = np.random.default_rng(0)
    path = folder / "bench.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        y_train=rng.integers(0, 10, n_train).astype(np.int64),
        x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        y_test=rng.integers(0, 10, n_test).astype(np.int64),
    )
    return str(path)


def settings_for(
    norm, width, precision, device, steps, batch, threads, probe_every, curvature_every=0
) -> dict:
    return {
        "run": f"{norm}_lr0.1_seed0",
        "model": "vgg_a",
        "normalization": norm,
        "lr": 0.1,
        "seed": 0,
        "width": width,
        "dataset": "synthetic",
        "steps": steps,
        "batch_size": batch,
        "momentum": 0.0,
        "weight_decay": 0.0,
        "eval_every": steps,
        "precision": precision,
        "device_type": device_type(device),
        "deterministic": False,
        "augment": False,
        # Not part of a run's identity: how train_run executes it (see workflow_step_seconds).
        "execution": Execution(device, threads, log_every=steps, checkpoint_every=0),
        # The default config's probe set (the schema's defaults) at the cadence asked for.
        "probes": {
            **section_defaults("probes"),
            "every": probe_every,
            "curvature_every": curvature_every,
        },
    }


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def workflow_step_seconds(data: str, settings: dict, folder: Path) -> float:
    """Seconds per step of train_run itself (its own timer, evaluations excluded), and the
    wall time of the whole call."""
    outputs = {k: str(folder / k) for k in ("metrics", "probes", "meta", "weights")}
    started = time.perf_counter()
    identity = {k: v for k, v in settings.items() if k != "execution"}
    meta = train_run(
        data,
        outputs,
        identity,
        settings["execution"],
        checkpoint_path=folder / "ckpt.pt",
        reuse_finished=False,
    )
    total = time.perf_counter() - started
    return 1.0 / meta["steps_per_second"], total


def bare_step_seconds(data: str, settings: dict, device: torch.device, warmup: int) -> float:
    """The same step as a bare loop: index on the device, forward, backward, SGD."""
    arrays = np.load(data)
    x_train = torch.from_numpy(arrays["x_train"]).to(device)
    y_train = torch.from_numpy(arrays["y_train"]).to(device)
    torch.manual_seed(0)
    model = vgg_a(settings["normalization"], settings["width"]).to(
        device, memory_format=torch.channels_last
    )
    opt = Optimizer(model.parameters(), OptimizerSettings(lr=settings["lr"]))
    ctx = autocast(settings, device)
    batch, n = settings["batch_size"], x_train.shape[0]
    order = torch.randperm(n, device=device)
    steps = settings["steps"]
    for step in range(warmup + steps):
        if step == warmup:
            sync(device)
            started = time.perf_counter()
        k = step % (n // batch)
        idx = order[k * batch : (k + 1) * batch]
        with ctx:
            out = model(to_inputs(x_train[idx]))
        loss = F.cross_entropy(out.float(), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    sync(device)
    return (time.perf_counter() - started) / steps


def eval_seconds(data: str, settings: dict, device: torch.device) -> float:
    arrays = np.load(data)
    x_test = torch.from_numpy(arrays["x_test"]).to(device)
    y_test = torch.from_numpy(arrays["y_test"]).to(device)
    model = vgg_a(settings["normalization"], settings["width"]).to(
        device, memory_format=torch.channels_last
    )
    ctx = autocast(settings, device)
    evaluate(model, x_test, y_test, ctx)  # warm-up
    sync(device)
    started = time.perf_counter()
    evaluate(model, x_test, y_test, ctx)
    sync(device)
    return time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precisions", nargs="+", default=None)
    parser.add_argument("--widths", nargs="+", type=float, default=[1.0, 0.125])
    parser.add_argument("--norms", nargs="+", default=list(NORMALIZATIONS))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default by device)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--probe-every", type=int, default=100)
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each loop, alternating; best kept"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # train_run's progress lines would drown the table
    try:
        run_benchmarks(args)
    finally:
        logging.disable(logging.NOTSET)


def run_benchmarks(args) -> None:

    device = resolve_device(args.device)
    args.device = device.type  # resolved once: the runs below need not resolve `auto` again
    cuda = device.type == "cuda"
    precisions = args.precisions or (["fp32", "tf32", "bf16"] if cuda else ["fp32"])
    n_test = 10_000 if cuda else 1_000
    print(f"device: {device_label(device, args.threads)}; torch {torch.__version__}")
    print(
        f"batch {args.batch_size}; test set {n_test} images; best of {args.repeats} timed runs "
        "of each loop, the two loops alternating; first steps in"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = fake_dataset(tmp, 50_000 if cuda else 4_096, n_test)
        for precision in precisions:
            header = f"\n[{precision}]  {'width':>5} {'norm':<11} {'ms/step':>9} "
            header += f"{'bare ms':>9} {'ratio':>6} {'img/s':>9} {'MFU':>7}"
            print(header)
            for width in args.widths:
                steps = args.steps or default_steps(cuda, width)
                for norm in args.norms:
                    row = bench_one(data, tmp, device, precision, width, norm, steps, args)
                    keep(rows, [row], args.json)
                    print(
                        f"        {width:>5g} {norm:<11} {row['ms_per_step']:>9.2f} "
                        f"{row['bare_ms_per_step']:>9.2f} {row['ratio_to_bare']:>6.3f} "
                        f"{row['images_per_s']:>9.0f} {format_mfu(row['mfu'])}"
                    )
            keep(rows, probe_and_eval(data, tmp, device, precision, args), args.json)
            floor = probe_noise_floor(data, device, precision, args.widths[0], args.batch_size)
            keep(rows, [floor], args.json)
            print(
                f"        noise floor of g: {floor['relative_noise_floor']:.2e} of ||g||; "
                f"smallest eta's ||delta g|| / floor = {floor['signal_to_floor']:.3g}"
            )


def keep(rows: list, new: list, path: Path | None) -> None:
    """Add measurements and write them all at once (atomically) to `path`: a run stopped by
    a time limit keeps everything it measured so far."""
    rows += new
    if path:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(rows, indent=2))
        os.replace(tmp, path)


def default_steps(cuda: bool, width: float) -> int:
    if cuda:
        return 300
    return 8 if width >= 0.5 else 60


def bench_one(data, tmp, device, precision, width, norm, steps, args) -> dict:
    settings = settings_for(
        norm, width, precision, args.device, steps, args.batch_size, args.threads, 0
    )
    configure_backend(settings, settings["execution"], device)
    # Alternating the two loops and keeping each one's best run cancels most of the drift
    # of a shared machine (other jobs, clock changes), which a single run of each does not.
    bare_runs, our_runs = [], []
    for repeat in range(max(1, args.repeats)):
        bare_runs.append(bare_step_seconds(data, settings, device, warmup=0))
        folder = tmp / f"{precision}-{width}-{norm}-{repeat}"
        our_runs.append(workflow_step_seconds(data, settings, folder)[0])
    bare, ours = min(bare_runs), min(our_runs)
    flops = 3 * flops_per_image(vgg_a(norm, width)) * args.batch_size
    peak = peak_tflops(device, precision)
    return {
        "precision": precision,
        "width": width,
        "normalization": norm,
        "steps": steps,
        "repeats": len(our_runs),
        "ms_per_step": ours * 1e3,
        "bare_ms_per_step": bare * 1e3,
        "ratio_to_bare": ours / bare,
        "images_per_s": args.batch_size / ours,
        "mfu": flops / ours / (peak * 1e12) if peak else None,
    }


def probe_and_eval(data, tmp, device, precision, args) -> list[dict]:
    """Probe overhead at the cadence, evaluation time and peak memory: at the first width on a
    GPU, at the smallest on a CPU (width 1 would take minutes per hundred steps there)."""
    width = args.widths[0] if device.type == "cuda" else min(args.widths)
    steps = max(2 * args.probe_every, args.steps or 0) if device.type == "cuda" else None
    steps = steps or (args.probe_every * 2 if width < 0.5 else args.probe_every)
    rows = []
    print(f"\n[{precision}] probes every {args.probe_every} steps, width {width:g}, {steps} steps")
    for norm in [n for n in ("none", "batch") if n in args.norms] or args.norms[:1]:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        # (probe cadence, curvature cadence): none; the default probes; both at the cadence
        cadences = ((0, 0), (args.probe_every, 0), (args.probe_every, args.probe_every))
        timings = {cadence: [] for cadence in cadences}
        for repeat in range(max(1, args.repeats)):
            for every, curvature in cadences:
                settings = settings_for(
                    norm, width, precision, args.device, steps, args.batch_size, args.threads,
                    every, curvature,
                )  # fmt: skip
                folder = tmp / f"probe-{precision}-{norm}-{every}-{curvature}-{repeat}"
                seconds = workflow_step_seconds(data, settings, folder)[0]
                timings[(every, curvature)].append(seconds)
        plain, probed, curved = (min(timings[cadence]) for cadence in cadences)
        evaluation = eval_seconds(data, settings, device)
        overhead = probed / plain - 1
        curvature_overhead = curved / plain - 1
        memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
        print(
            f"        {norm:<11} probe overhead {overhead * 100:6.1f}%   "
            f"with curvature {curvature_overhead * 100:6.1f}%   "
            f"evaluation {evaluation:6.2f} s   "
            + (f"peak GPU memory {memory:.2f} GiB" if memory is not None else "")
        )
        rows.append(
            {
                "precision": precision,
                "width": width,
                "normalization": norm,
                "probe_every": args.probe_every,
                "probe_overhead": overhead,
                "probe_overhead_with_curvature": curvature_overhead,
                "eval_seconds": evaluation,
                "peak_gpu_memory_gib": memory,
            }
        )
    return rows


def probe_noise_floor(data, device, precision, width, batch, etas=(0.05,)) -> dict:
    """Recompute g twice at the same point (same batch, train mode): the relative difference
    is the arithmetic's noise floor; the smallest eta's ||delta g|| must stand well above it.
    """
    arrays = np.load(data)
    x = to_inputs(torch.from_numpy(arrays["x_train"][:batch]).to(device))
    y = torch.from_numpy(arrays["y_train"][:batch]).to(device)
    torch.manual_seed(0)
    model = vgg_a("batch", width).to(device, memory_format=torch.channels_last)
    settings = {"precision": precision}
    params = probes.trainable(model)
    grads = []
    with probes.preserved_state(model):
        for _ in range(2):
            with autocast(settings, device):
                loss = F.cross_entropy(model(x).float(), y)
            grads.append([g.detach() for g in torch.autograd.grad(loss, params)])
        with autocast(settings, device):
            land = probes.landscape_probe(model, F.cross_entropy, x, y, list(etas), grad=grads[0])
    floor = probes.flat_norm(torch._foreach_sub(grads[1], grads[0]))
    return {
        "precision": precision,
        "grad_norm": land.grad_norm,
        "noise_floor": floor,
        "relative_noise_floor": floor / land.grad_norm,
        "smallest_eta_grad_diff": land.grad_diffs[0],
        "signal_to_floor": land.grad_diffs[0] / floor if floor > 0 else float("inf"),
    }


def format_mfu(mfu) -> str:
    return f"{mfu * 100:6.1f}%" if mfu is not None else "    n/a"


def device_label(device: torch.device, threads: int) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    peak = cpu_peak_tflops(threads)
    peak_text = f", peak ~{peak:.2f} TFLOP/s fp32" if peak else ""
    return f"cpu, {threads} threads{peak_text}"


if __name__ == "__main__":
    main()
