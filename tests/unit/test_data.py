import gzip
import hashlib
import io
import json
import pickle
import socket
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from bnopt import data, download, synthetic_images
from bnopt.config import load_schema

RECORD = 3073


# ---------------------------------------------------------------------------------------------
# A local HTTP server for the download tests


class _PayloadHandler(BaseHTTPRequestHandler):
    """Serves ``server.payload``, after the queued ``server.statuses`` and ``server.delays``."""

    def do_GET(self):
        server = self.server
        with server.lock:
            server.requests += 1
            status = server.statuses.pop(0) if server.statuses else 200
            delay = server.delays.pop(0) if server.delays else 0.0
        time.sleep(delay)
        try:
            if status != 200:
                self.send_error(status)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(server.payload)))
            self.end_headers()
            self.wfile.write(server.payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as the timeout test intends

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _PayloadHandler)
    httpd.payload = b"not really CIFAR-10 " * 1000
    httpd.statuses = []
    httpd.delays = []
    httpd.requests = 0
    httpd.lock = threading.Lock()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/cifar-10-binary.tar.gz"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _md5(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-10-binary.tar.gz"


def test_download_puts_verified_file_in_place(tmp_path, server):
    dest = tmp_path / "raw" / "cifar-10-binary.tar.gz"
    result = download.download(server.url, dest, _md5(server.payload), backoff_s=0.01)
    assert result == dest
    assert dest.read_bytes() == server.payload
    assert data.md5sum(dest) == _md5(server.payload)
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]
    assert server.requests == 1


def test_download_skips_existing_file_with_right_md5(tmp_path):
    dest = tmp_path / "cifar-10-binary.tar.gz"
    dest.write_bytes(b"already here")
    assert download.download(_refused_url(), dest, _md5(b"already here")) == dest


def test_download_checksum_mismatch_leaves_nothing(tmp_path, server):
    dest = tmp_path / "cifar-10-binary.tar.gz"
    with pytest.raises(download.DownloadError) as error:
        download.download(server.url, dest, "0" * 32, retries=2, backoff_s=0.01)
    assert list(tmp_path.iterdir()) == []
    assert server.requests == 3
    message = str(error.value)
    assert "md5" in message and str(dest) in message and "data.archive" in message


def test_download_http_404_is_not_retried(tmp_path, server):
    server.statuses = [404] * 10
    dest = tmp_path / "cifar-10-binary.tar.gz"
    started = time.monotonic()
    with pytest.raises(download.DownloadError) as error:
        download.download(server.url, dest, _md5(server.payload), retries=4, backoff_s=1.0)
    assert time.monotonic() - started < 1.0
    assert server.requests == 1
    assert "404" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_download_connection_refused_fails_after_retries(tmp_path):
    dest = tmp_path / "cifar-10-binary.tar.gz"
    url = _refused_url()
    with pytest.raises(download.DownloadError) as error:
        download.download(url, dest, data.BINARY_MD5, retries=2, backoff_s=0.01)
    message = str(error.value)
    assert url in message
    assert "after 3 attempts" in message
    # The way offline is data.archive, never a file placed where the download would write.
    assert f"copy cifar-10-binary.tar.gz (md5 {data.BINARY_MD5})" in message
    assert "set data.archive to its path" in message and f"at {dest}" not in message
    assert list(tmp_path.iterdir()) == []


def test_download_retries_after_http_503(tmp_path, server):
    server.statuses = [503]
    dest = tmp_path / "cifar-10-binary.tar.gz"
    download.download(server.url, dest, _md5(server.payload), backoff_s=0.01)
    assert dest.read_bytes() == server.payload
    assert server.requests == 2


def test_download_retries_after_timeout(tmp_path, server):
    server.delays = [1.0]
    dest = tmp_path / "cifar-10-binary.tar.gz"
    download.download(server.url, dest, _md5(server.payload), backoff_s=0.01, timeout_s=0.2)
    assert dest.read_bytes() == server.payload
    assert server.requests == 2


# ---------------------------------------------------------------------------------------------
# Synthetic archive


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic") / "cifar-10-binary.tar.gz"
    return synthetic_images.write_synthetic_archive(path, n_train=103, n_test=30, seed=3)


def _same_arrays(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[key], b[key]) for key in data.ARRAY_KEYS)


def test_synthetic_archive_is_deterministic(tmp_path, small_archive):
    again = synthetic_images.write_synthetic_archive(tmp_path / "again.tar.gz", 103, 30, seed=3)
    other = synthetic_images.write_synthetic_archive(tmp_path / "other.tar.gz", 103, 30, seed=4)
    assert again.read_bytes() == small_archive.read_bytes()
    assert _same_arrays(data.read_archive(again), data.read_archive(small_archive))
    assert not _same_arrays(data.read_archive(other), data.read_archive(small_archive))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.tar.gz", "other.tar.gz"]


def test_synthetic_archive_sizes_and_balanced_labels(small_archive):
    arrays = data.read_archive(small_archive)
    assert arrays["x_train"].shape == (103, 32, 32, 3)
    assert arrays["x_test"].shape == (30, 32, 32, 3)
    assert arrays["x_train"].dtype == np.uint8 and arrays["y_train"].dtype == np.int64
    train_counts = np.bincount(arrays["y_train"], minlength=10)
    assert train_counts.max() - train_counts.min() <= 1 and train_counts.sum() == 103
    assert np.bincount(arrays["y_test"], minlength=10).tolist() == [3] * 10
    # Shuffled, not sorted by class.
    assert not np.array_equal(arrays["y_train"], np.sort(arrays["y_train"]))


def test_synthetic_archive_follows_the_binary_format(small_archive):
    with tarfile.open(small_archive, "r:gz") as tar:
        names = tar.getnames()
        batch_1 = tar.extractfile("cifar-10-batches-bin/data_batch_1.bin").read()
        sizes = {m.name: m.size for m in tar.getmembers()}
        meta = tar.extractfile("cifar-10-batches-bin/batches.meta.txt").read().decode()
    expected = [f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)]
    expected += ["cifar-10-batches-bin/test_batch.bin", "cifar-10-batches-bin/batches.meta.txt"]
    assert sorted(names) == sorted(expected)
    train_sizes = [sizes[name] // RECORD for name in expected[:5]]
    assert train_sizes == [21, 21, 21, 20, 20]
    assert sizes["cifar-10-batches-bin/test_batch.bin"] == 30 * RECORD
    assert len(meta.split()) == 10

    # Record 1 of data_batch_1, by hand: label byte, then red, green and blue 32x32 planes.
    arrays = data.read_archive(small_archive)
    record = np.frombuffer(batch_1[RECORD : 2 * RECORD], np.uint8)
    assert record[0] == arrays["y_train"][1]
    planes = record[1:].reshape(3, 32, 32)
    for channel in range(3):
        assert np.array_equal(planes[channel], arrays["x_train"][1, :, :, channel])


def test_synthetic_archive_with_fewer_classes(tmp_path):
    path = synthetic_images.write_synthetic_archive(
        tmp_path / "a.tar.gz", 40, 8, seed=0, num_classes=4
    )
    arrays = data.read_archive(path)
    assert set(arrays["y_train"].tolist()) == {0, 1, 2, 3}


def _nearest_class_mean_accuracy(arrays: dict) -> float:
    x_train = arrays["x_train"].reshape(len(arrays["x_train"]), -1).astype(np.float64)
    x_test = arrays["x_test"].reshape(len(arrays["x_test"]), -1).astype(np.float64)
    means = np.stack([x_train[arrays["y_train"] == c].mean(axis=0) for c in range(10)])
    distances = (means**2).sum(axis=1)[None, :] - 2 * x_test @ means.T
    return float((distances.argmin(axis=1) == arrays["y_test"]).mean())


def test_synthetic_classes_are_learnable_but_not_trivially(tmp_path):
    path = synthetic_images.write_synthetic_archive(tmp_path / "a.tar.gz", 2000, 500, seed=0)
    accuracy = _nearest_class_mean_accuracy(data.read_archive(path))
    assert 0.3 < accuracy < 0.9


# ---------------------------------------------------------------------------------------------
# prepare / load_prepared


def test_prepare_round_trip(tmp_path, small_archive):
    out = tmp_path / "prepared" / "cifar10.npz"
    summary = data.prepare(small_archive, out)
    assert [p.name for p in out.parent.iterdir()] == ["cifar10.npz"]
    loaded = data.load_prepared(out)
    assert _same_arrays(loaded, data.read_archive(small_archive))
    assert loaded["x_train"].dtype == np.uint8 and loaded["y_test"].dtype == np.int64
    assert loaded["x_test"].shape == (30, 32, 32, 3)
    assert summary["n_train"] == 103 and summary["n_test"] == 30
    assert summary["test_class_counts"] == [3] * 10
    assert sum(summary["train_class_counts"]) == 103


def test_prepare_records_where_the_data_came_from(tmp_path, small_archive, monkeypatch):
    record = tmp_path / "cifar10.provenance.json"
    data.prepare(small_archive, tmp_path / "cifar10.npz", record, "local")
    local = json.loads(record.read_text())
    assert local["origin"] == "local" and local["archive"] == small_archive.name
    assert local["md5"] == _md5(small_archive.read_bytes()) and not local["official_cifar10"]
    assert f"local archive {small_archive.name} (md5 {local['md5']})" in local["description"]
    assert "not the official CIFAR-10" in local["description"]
    assert local["n_train"] == 103 and local["n_test"] == 30 and local["url"] is None
    # The same file when its md5 is the published one (as the official archive's is).
    monkeypatch.setattr(data, "BINARY_MD5", local["md5"])
    official = data.provenance(small_archive, "local")
    assert official["official_cifar10"] and official["short"] == "CIFAR-10 (official, md5 verified)"
    assert official["description"].startswith("official CIFAR-10, local archive")
    url = "https://example.org/cifar-10-binary.tar.gz"
    downloaded = data.provenance(small_archive, "download", url=url)
    assert f"downloaded from {url} (md5 {local['md5']} verified)" in downloaded["description"]
    synthetic = data.provenance(small_archive, "synthetic", synthetic={"n_train": 5, "seed": 3})
    assert synthetic["short"] == "synthetic (seed 3)" and "n_train 5" in synthetic["description"]
    with pytest.raises(ValueError, match="origin"):
        data.provenance(small_archive, "mystery")


def test_prepare_rejects_truncated_archive(tmp_path, small_archive):
    payload = small_archive.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(payload[: len(payload) // 2])
    out = tmp_path / "out" / "cifar10.npz"
    with pytest.raises(data.DataError, match="truncated"):
        data.prepare(truncated, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["truncated.tar.gz"]


def _write_tar_gz(path, members: dict):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def _binary_members(records_per_batch=2, label=1) -> dict:
    record = bytes([label]) + bytes(range(256)) * 12
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    return {f"cifar-10-batches-bin/{name}": record * records_per_batch for name in names}


def test_read_archive_accepts_a_hand_built_binary_archive(tmp_path):
    arrays = data.read_archive(_write_tar_gz(tmp_path / "a.tar.gz", _binary_members()))
    assert arrays["x_train"].shape == (10, 32, 32, 3)
    assert arrays["y_test"].tolist() == [1, 1]


def test_read_archive_rejects_member_of_wrong_size(tmp_path):
    members = _binary_members()
    members["cifar-10-batches-bin/data_batch_3.bin"] += b"extra"
    path = _write_tar_gz(tmp_path / "a.tar.gz", members)
    with pytest.raises(data.DataError, match=r"data_batch_3\.bin.*6151 bytes.*3073"):
        data.read_archive(path)


def test_a_member_declaring_gigabytes_is_refused_before_it_is_unpacked(tmp_path):
    """A few KB of gzip can declare a 3 GB member; it used to be read into memory."""
    huge = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
    huge.size = 3 * 10**9
    path = tmp_path / "bomb.tar.gz"
    with gzip.open(path, "wb") as f:  # the header, then far fewer bytes than it declares
        f.write(huge.tobuf(format=tarfile.GNU_FORMAT) + bytes(1 << 16))
    assert path.stat().st_size < 10_000
    with pytest.raises(data.DataError, match=r"data_batch_1\.bin declares 3,000,000,000 bytes.*"
                       r"refused before unpacking"):  # fmt: skip
        data.read_archive(path)


def test_the_schema_bounds_synthetic_sets_to_what_an_archive_member_may_hold():
    synthetic = load_schema()["properties"]["data"]["properties"]["synthetic"]["properties"]
    assert synthetic["n_test"]["maximum"] == data.MAX_MEMBER_RECORDS
    assert synthetic["n_train"]["maximum"] == len(data.TRAIN_BATCHES) * data.MAX_MEMBER_RECORDS


def test_read_archive_rejects_missing_member(tmp_path):
    members = _binary_members()
    del members["cifar-10-batches-bin/test_batch.bin"]
    path = _write_tar_gz(tmp_path / "a.tar.gz", members)
    with pytest.raises(data.DataError, match="test_batch.bin"):
        data.read_archive(path)


def test_read_archive_rejects_label_out_of_range(tmp_path):
    path = _write_tar_gz(tmp_path / "a.tar.gz", _binary_members(label=10))
    with pytest.raises(data.DataError, match="labels"):
        data.read_archive(path)


@pytest.mark.parametrize(
    "content", [b"", b"just some text\n", b"\x1f\x8b\x08\x00garbage"], ids=["empty", "text", "gz"]
)
def test_read_archive_rejects_non_archives(tmp_path, content):
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(content)
    with pytest.raises(data.DataError, match=str(path)):
        data.read_archive(path)


def test_read_archive_rejects_other_tar_and_missing_file(tmp_path):
    path = _write_tar_gz(tmp_path / "a.tar.gz", {"readme.txt": b"hello"})
    with pytest.raises(data.DataError, match="data_batch_1.bin"):
        data.read_archive(path)
    with pytest.raises(data.DataError, match="does not exist"):
        data.read_archive(tmp_path / "missing.tar.gz")


def test_load_prepared_rejects_bad_files(tmp_path):
    missing_key = tmp_path / "missing_key.npz"
    np.savez(missing_key, x_train=np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(data.DataError, match="y_train"):
        data.load_prepared(missing_key)

    wrong_dtype = tmp_path / "wrong_dtype.npz"
    arrays = {"x_train": np.zeros((2, 32, 32, 3), np.float32), "y_train": np.zeros(2, np.int64)}
    arrays |= {"x_test": np.zeros((1, 32, 32, 3), np.uint8), "y_test": np.zeros(1, np.int64)}
    np.savez(wrong_dtype, **arrays)
    with pytest.raises(data.DataError, match="uint8"):
        data.load_prepared(wrong_dtype)

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **(arrays | {"x_train": np.array([{}], dtype=object)}))
    with pytest.raises(data.DataError):
        data.load_prepared(pickled)


# ---------------------------------------------------------------------------------------------
# The python-format (pickled) archive

UNPICKLED = []


def _record_unpickling():
    UNPICKLED.append(True)
    return {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}


class _Trap:
    """Unpickling this calls _record_unpickling, so the test can see whether it happened."""

    def __reduce__(self):
        return (_record_unpickling, ())


def _python_members(batches: dict) -> dict:
    members = {f"cifar-10-batches-py/{name}": pickle.dumps(b) for name, b in batches.items()}
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps({b"label_names": [b"a"] * 10})
    return members


def _python_batches(rng, n=4) -> dict:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {
        name: {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, n).tolist(),
        }
        for name in names
    }


def test_python_archive_with_unknown_md5_is_refused_without_unpickling(tmp_path):
    batches = _python_batches(np.random.default_rng(0))
    batches["data_batch_1"] = _Trap()
    path = _write_tar_gz(tmp_path / "cifar-10-python.tar.gz", _python_members(batches))
    UNPICKLED.clear()
    with pytest.raises(data.DataError) as error:
        data.read_archive(path)
    assert UNPICKLED == []
    message = str(error.value)
    assert "pickle" in message and data.PYTHON_MD5 in message and "binary" in message
    # The trap works: loading the member is what would have called _record_unpickling.
    with tarfile.open(path) as tar:
        pickle.loads(tar.extractfile("cifar-10-batches-py/data_batch_1").read())
    assert UNPICKLED == [True]
    UNPICKLED.clear()


def test_python_archive_with_published_md5_is_read(tmp_path, monkeypatch):
    batches = _python_batches(np.random.default_rng(1))
    path = _write_tar_gz(tmp_path / "cifar-10-python.tar.gz", _python_members(batches))
    monkeypatch.setattr(data, "PYTHON_MD5", data.md5sum(path))
    arrays = data.read_archive(path)
    flat = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    assert arrays["x_train"].shape == (20, 32, 32, 3)
    # Pixel (row 5, column 7) of channel c sits at c * 1024 + 5 * 32 + 7 in a 3072-byte row.
    for channel in range(3):
        assert np.array_equal(arrays["x_train"][:, 5, 7, channel], flat[:, channel * 1024 + 167])
    assert np.array_equal(arrays["x_train"], flat.reshape(20, 3, 32, 32).transpose(0, 2, 3, 1))
    assert arrays["y_test"].tolist() == batches["test_batch"][b"labels"]
    assert arrays["y_train"].dtype == np.int64


def test_download_rejects_invalid_url_without_retrying(tmp_path):
    with pytest.raises(download.DownloadError, match="invalid URL"):
        download.download("not a url", tmp_path / "a.tar.gz", data.BINARY_MD5, backoff_s=10.0)
