"""Output files: atomic writes whose errors name the path and leave nothing behind."""

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from bnopt.files import OutputError, atomic_output, write_text

Usage = namedtuple("Usage", "total used free")


def test_a_successful_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    write_text(target, "first\n")
    write_text(target, "second\n")
    assert target.read_text() == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_a_failed_write_names_the_path_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"the previous version")
    with pytest.raises(
        OutputError, match=re.escape(f"cannot write {target}: OSError: [Errno 28] No space left")
    ):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"the previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_an_unwritable_folder_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match=f"cannot write {blocker / 'out.txt'}"):
        write_text(blocker / "out.txt", "x")


def test_other_errors_pass_through_and_still_clean_up(tmp_path):
    with pytest.raises(KeyError):
        with atomic_output(tmp_path / "out.txt") as tmp:
            tmp.write_text("partial")
            raise KeyError("a bug, not an I/O error")
    assert list(tmp_path.iterdir()) == []


def test_a_runtime_error_that_is_not_about_writing_passes_through(tmp_path):
    with pytest.raises(RuntimeError, match="CUDA error: an illegal memory access"):
        with atomic_output(tmp_path / "out.pt") as tmp:
            tmp.write_bytes(b"x")
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_attempts_temporary_file_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "metrics.tsv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    left = tmp_path / f".metrics.tsv.tmp-{dead}"  # as SIGKILL leaves it: no clean-up ran
    left.write_text("half")
    alive = tmp_path / f".metrics.tsv.tmp-{os.getppid()}"  # a running writer's: kept
    alive.write_text("in progress")
    write_text(target, "done\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "metrics.tsv"]


SIGTERM_DURING_WRITE = """
import sys, time
from bnopt.files import atomic_output
from bnopt.logs import log_to
with log_to(sys.argv[2], "job"):
    with atomic_output(sys.argv[1]) as tmp:
        tmp.write_text("half")
        print("writing", flush=True)
        time.sleep(60)
"""


def test_a_job_stopped_with_sigterm_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "figure.png"
    process = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_DURING_WRITE, str(target), str(tmp_path / "job.log")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "writing"
    assert any(p.name.startswith(".figure.png.tmp-") for p in tmp_path.iterdir())
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert [p.name for p in tmp_path.iterdir()] == ["job.log"]


def test_a_full_disk_says_so_even_when_the_writer_does_not(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 4096, 4096))
    target = tmp_path / "model.pt"
    with pytest.raises(OutputError) as error:
        with atomic_output(target):
            raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64")
    assert f"cannot write {target}" in str(error.value)
    assert "no space left on the device: 0.0 MiB free" in str(error.value)


def test_a_figure_is_written_atomically(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from bnopt.plots.style import save_figure

    figure = Figure()
    figure.add_subplot().plot([0, 1], [0, 1])
    png, pdf = tmp_path / "f.png", tmp_path / "f.pdf"
    save_figure(figure, png, pdf)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-"
    before = png.read_bytes()

    def fails_halfway(path, **kwargs):
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(figure, "savefig", fails_halfway)
    with pytest.raises(OutputError, match="no space left on the device"):
        save_figure(figure, png, pdf)
    assert png.read_bytes() == before  # the previous figure, never a half-written one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf", "f.png"]
