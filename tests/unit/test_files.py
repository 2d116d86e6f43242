"""Output files: atomic writes whose errors name the path and leave nothing behind."""

import re

import pytest

from bnopt.files import OutputError, atomic_output, write_text


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
