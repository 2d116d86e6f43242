"""GPU slots: jobs that ask for `cuda` on a machine with several GPUs spread over them and
share them as train.runs_per_gpu says, tested on the CPU with a fake device count."""

import multiprocessing
import subprocess
import sys

import pytest
import torch

from bnopt import gpus

CUDA = torch.device("cuda")


def held(tmp_path, count, runs_per_gpu, n, **kw):
    """Claim n slots at once (nested), return the devices."""
    stack, devices = [], []
    for _ in range(n):
        context = gpus.claimed(CUDA, runs_per_gpu, count=count, root=tmp_path, **kw)
        devices.append(context.__enter__())
        stack.append(context)
    for context in reversed(stack):
        context.__exit__(None, None, None)
    return devices


def test_jobs_spread_over_the_gpus_then_share_them(tmp_path):
    devices = held(tmp_path, count=4, runs_per_gpu=2, n=8)
    assert [d.index for d in devices] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert all(d.type == "cuda" for d in devices)


def test_a_slot_is_freed_when_the_job_ends_or_fails(tmp_path):
    with gpus.claimed(CUDA, 1, count=2, root=tmp_path) as first:
        assert first.index == 0
    with pytest.raises(RuntimeError):
        with gpus.claimed(CUDA, 1, count=2, root=tmp_path) as again:
            assert again.index == 0  # the first job's slot was freed
            raise RuntimeError("training failed")
    with gpus.claimed(CUDA, 1, count=2, root=tmp_path) as third:
        assert third.index == 0


KILLED_HOLDER = """
import os, signal, sys, torch
from bnopt import gpus
with gpus.claimed(torch.device("cuda"), 1, count=2, root=sys.argv[1]) as device:
    print(device.index, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_jobs_slot_is_free_again(tmp_path):
    result = subprocess.run([sys.executable, "-c", KILLED_HOLDER, str(tmp_path)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == -9 and result.stdout.strip() == "0"
    with gpus.claimed(CUDA, 1, count=2, root=tmp_path) as device:
        assert device.index == 0  # the lock died with its process


def test_all_slots_taken_is_an_error_that_says_what_to_do(tmp_path):
    with gpus.claimed(CUDA, 1, count=1, root=tmp_path):
        with pytest.raises(gpus.SlotError, match="--resources gpu=N"):
            with gpus.claimed(CUDA, 1, count=1, root=tmp_path, wait_s=0.2):
                pass


def test_cpu_and_a_named_gpu_are_used_as_given(tmp_path):
    for device in (torch.device("cpu"), torch.device("cuda", 3)):
        with gpus.claimed(device, 2, count=4, root=tmp_path) as chosen:
            assert chosen == device
    assert not gpus.slot_folder(tmp_path).exists()


def test_slots_are_keyed_by_the_physical_gpu_whatever_number_a_job_sees(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    assert gpus.physical_ids(1) == ["GPU-2"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert gpus.physical_ids(2) == ["GPU-3", "GPU-1"]
    # a SLURM job seeing only its own GPU trains on cuda:0 of what it sees
    with gpus.claimed(CUDA, 1, count=1, root=tmp_path) as device:
        assert device.index == 0
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")  # another GPU: not blocked
        with gpus.claimed(CUDA, 1, count=1, root=tmp_path, wait_s=0.2) as other:
            assert other.index == 0
    # CUDA_VISIBLE_DEVICES unset and "0" are the same GPU: one slot, shared by both
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with gpus.claimed(CUDA, 1, count=1, root=tmp_path):
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
        assert gpus.physical_ids(1) == ["GPU-0"]
        with pytest.raises(gpus.SlotError, match="stayed taken"):
            with gpus.claimed(CUDA, 1, count=1, root=tmp_path, wait_s=0.2):
                pass


def test_a_planted_symlink_is_refused_and_its_target_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    folder = gpus.slot_folder(tmp_path)
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (folder / "GPU-0-slot-0").symlink_to(victim)
    with pytest.raises(gpus.SlotError, match="GPU-0-slot-0"):
        with gpus.claimed(CUDA, 1, count=1, root=tmp_path, wait_s=0.2):
            pass
    assert victim.read_text() == "precious\n"


def test_a_slot_folder_that_is_a_symlink_or_open_to_others_is_refused(tmp_path):
    folder = gpus.slot_folder(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.symlink_to(elsewhere)
    with pytest.raises(gpus.SlotError, match="is not a folder"):
        with gpus.claimed(CUDA, 1, count=1, root=tmp_path, wait_s=0.2):
            pass
    assert not list(elsewhere.iterdir())
    folder.unlink()
    folder.mkdir()
    folder.chmod(0o777)  # as someone else's mkdir in a shared /tmp would leave it
    with pytest.raises(gpus.SlotError, match="open to other users"):
        with gpus.claimed(CUDA, 1, count=1, root=tmp_path, wait_s=0.2):
            pass
    folder.rmdir()
    with gpus.claimed(CUDA, 1, count=1, root=tmp_path):
        assert folder.stat().st_mode & 0o777 == 0o700  # created private


def claim_and_report(root, queue, barrier):
    barrier.wait()
    with gpus.claimed(CUDA, 2, count=3, root=root) as device:
        queue.put(device.index)
        barrier.wait()  # hold the slot until every process has one


@pytest.mark.slow
def test_concurrent_jobs_never_share_a_slot(tmp_path):
    context = multiprocessing.get_context("spawn")
    queue, barrier = context.Queue(), context.Barrier(6)
    workers = [context.Process(target=claim_and_report, args=(str(tmp_path), queue, barrier))
               for _ in range(6)]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    indices = sorted(queue.get(timeout=5) for _ in workers)
    assert indices == [0, 0, 1, 1, 2, 2]  # 6 slots on 3 GPUs, two jobs per GPU
