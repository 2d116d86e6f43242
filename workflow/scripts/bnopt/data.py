"""CIFAR-10: reading the archive and the prepared ``.npz`` file (the download is bnopt.download,
the synthetic stand-in bnopt.synthetic_images).

Two archive formats are read. The binary one (``cifar-10-binary.tar.gz``) is plain bytes and is
accepted from anywhere. The python one (``cifar-10-python.tar.gz``) is made of pickles, and
unpickling runs code, so it is only accepted when its md5 is the published one.
"""

import hashlib
import io
import json
import pickle
import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import UserError
from .files import (
    atomic_output,
    file_digest,
    write_text,
)

BINARY_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
BINARY_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
PYTHON_MD5 = "c58f30108f718f92721af3b95e74349a"

NUM_CLASSES = 10
IMAGE_SIDE = 32
IMAGE_BYTES = 3 * IMAGE_SIDE * IMAGE_SIDE
RECORD_BYTES = 1 + IMAGE_BYTES
BINARY_DIR = "cifar-10-batches-bin"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
# The most records one member of an archive may hold (10x CIFAR-10's 10,000; the schema bounds
# data.synthetic.n_train at 5 members' worth and n_test at one). A member declaring more is
# refused before it is unpacked: a few MB of gzip can declare gigabytes.
MAX_MEMBER_RECORDS = 100_000
MAX_MEMBER_BYTES = MAX_MEMBER_RECORDS * RECORD_BYTES


class DataError(UserError):
    """The data could not be read, written or validated."""


def md5sum(path) -> str:
    return file_digest(path, "md5")


# ---------------------------------------------------------------------------------------------
# Reading archives


def read_archive(path) -> dict:
    """Read a CIFAR-10 archive into NHWC uint8 images and int64 labels.

    Returns a dict with ``x_train``, ``y_train``, ``x_test``, ``y_test``.
    """
    path = Path(path)
    try:
        # Held in memory so that the bytes parsed are the bytes whose md5 was checked.
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise DataError(f"CIFAR-10 archive {path} does not exist") from error
    except OSError as error:
        raise DataError(f"cannot read CIFAR-10 archive {path}: {error}") from error
    md5 = hashlib.md5(raw).hexdigest()
    if md5 == PYTHON_MD5:
        return _read_python_archive(path, raw)
    return _read_binary_archive(path, raw, md5)


def _read_binary_archive(path: Path, raw: bytes, md5: str) -> dict:
    wanted = {f"{name}.bin" for name in (*TRAIN_BATCHES, TEST_BATCH)}
    contents, other_names = _read_tar_members(path, raw, wanted)
    if f"{TRAIN_BATCHES[0]}.bin" not in contents:
        if TRAIN_BATCHES[0] in other_names:
            raise DataError(
                f"{path} looks like the python-format CIFAR-10 archive. It is made of pickles, "
                f"which can run code when loaded, so it is only accepted with md5 {PYTHON_MD5}, "
                f"and this file's md5 is {md5}. Use the binary archive "
                f"cifar-10-binary.tar.gz (md5 {BINARY_MD5}) from {BINARY_URL} instead."
            )
        raise DataError(
            f"{path} is not a CIFAR-10 binary archive: it has no member */data_batch_1.bin"
        )
    _require_members(path, contents, wanted)
    train = [_parse_records(path, f"{name}.bin", contents[f"{name}.bin"]) for name in TRAIN_BATCHES]
    test = _parse_records(path, f"{TEST_BATCH}.bin", contents[f"{TEST_BATCH}.bin"])
    return _join_splits(train, test)


def _read_python_archive(path: Path, raw: bytes) -> dict:
    """Read the python-format archive; the caller has checked that md5(raw) is PYTHON_MD5."""
    wanted = {*TRAIN_BATCHES, TEST_BATCH}
    contents, _ = _read_tar_members(path, raw, wanted)
    _require_members(path, contents, wanted)
    train = [_parse_pickled_batch(path, name, contents[name]) for name in TRAIN_BATCHES]
    test = _parse_pickled_batch(path, TEST_BATCH, contents[TEST_BATCH])
    return _join_splits(train, test)


def _join_splits(train: list, test: tuple) -> dict:
    return {
        "x_train": np.concatenate([x for x, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": test[0],
        "y_test": test[1],
    }


def _read_tar_members(path: Path, raw: bytes, wanted: set) -> tuple[dict, set]:
    """Contents of the regular files whose base name is in ``wanted``, and the other base names.

    One sequential pass, so a gzip stream is decompressed only once.
    """
    contents = {}
    other_names = set()
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
            for member in tar:
                base = PurePosixPath(member.name).name
                if not member.isfile() or base not in wanted:
                    other_names.add(base)
                    continue
                if base in contents:
                    raise DataError(f"{path} has more than one member named */{base}")
                if member.size > MAX_MEMBER_BYTES:
                    raise DataError(
                        f"{path}: member {member.name} declares {member.size:,} bytes, more than "
                        f"the {MAX_MEMBER_BYTES:,} of {MAX_MEMBER_RECORDS:,} CIFAR records; "
                        f"refused before unpacking"
                    )
                contents[base] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(
            f"cannot read CIFAR-10 archive {path}: it is truncated or not a tar archive "
            f"({type(error).__name__}: {error})"
        ) from error
    return contents, other_names


def _require_members(path: Path, contents: dict, wanted: set) -> None:
    missing = sorted(wanted - contents.keys())
    if missing:
        raise DataError(f"CIFAR-10 archive {path} lacks the members {', '.join(missing)}")


def _parse_records(path: Path, name: str, payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Split binary records into NHWC images and int64 labels."""
    if len(payload) == 0 or len(payload) % RECORD_BYTES != 0:
        raise DataError(
            f"member {name} of {path} has {len(payload)} bytes, "
            f"not a positive multiple of the record size {RECORD_BYTES}"
        )
    records = np.frombuffer(payload, np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    _check_labels(f"member {name} of {path}", labels)
    return _channel_first_to_nhwc(records[:, 1:]), labels


def _parse_pickled_batch(path: Path, name: str, payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    where = f"member {name} of {path}"
    try:
        batch = pickle.loads(payload, encoding="bytes")
        flat = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as error:
        raise DataError(f"{where} is not a CIFAR-10 batch: {error}") from error
    if flat.ndim != 2 or flat.shape[1] != IMAGE_BYTES or len(flat) != len(labels) or not len(flat):
        raise DataError(
            f"{where} has data of shape {flat.shape} and {len(labels)} labels, "
            f"expected (N, {IMAGE_BYTES}) and N labels with N > 0"
        )
    _check_labels(where, labels)
    return _channel_first_to_nhwc(flat), labels


def _channel_first_to_nhwc(flat: np.ndarray) -> np.ndarray:
    """(N, 3072) rows of red, green and blue 32x32 planes -> (N, 32, 32, 3)."""
    planes = flat.reshape(-1, 3, IMAGE_SIDE, IMAGE_SIDE)
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1))


def _check_labels(where: str, labels: np.ndarray) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(
            f"{where} has labels in {labels.min()}..{labels.max()}, outside 0..{NUM_CLASSES - 1}"
        )


# ---------------------------------------------------------------------------------------------
# Prepared arrays


def prepare(archive, out_path, provenance_path=None, origin="local", url=None, synthetic=None):
    """Read ``archive``, validate it and write the arrays to one uncompressed ``.npz`` file.

    With ``provenance_path``, also write where the data came from (see :func:`provenance`)
    as JSON. Returns a summary: sample counts, number of classes and per-class counts.
    """
    arrays = read_archive(archive)
    validate_arrays(arrays, source=str(archive))
    _save_npz_atomically(Path(out_path), arrays)
    summary = summarize(arrays)
    if provenance_path is not None:
        record = provenance(archive, origin, url=url, synthetic=synthetic)
        record.update(n_train=summary["n_train"], n_test=summary["n_test"])
        write_text(provenance_path, json.dumps(record, indent=2) + "\n")
    return summary


ORIGINS = ("download", "local", "synthetic")


def provenance(archive, origin: str, url=None, synthetic=None) -> dict:
    """Where an archive came from, in words for the report (`description`, `short`).

    ``origin`` is how the workflow got it: ``download`` (from ``url``, md5 checked),
    ``local`` (``data.archive``: any binary archive is accepted, so whether it is the
    official CIFAR-10 is said, from its md5) or ``synthetic`` (made from the settings in
    ``synthetic``).
    """
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
    md5 = md5sum(archive)
    name = Path(archive).name
    official = md5 in (BINARY_MD5, PYTHON_MD5)
    if origin == "synthetic":
        settings = ", ".join(f"{key} {value}" for key, value in sorted(synthetic.items()))
        description = f"synthetic CIFAR-format images made by the workflow ({settings})"
        short = f"synthetic (seed {synthetic['seed']})"
    elif official:
        how = f"downloaded from {url}" if origin == "download" else f"local archive {name}"
        description = f"official CIFAR-10, {how} (md5 {md5} verified)"
        short = "CIFAR-10 (official, md5 verified)"
    else:
        description = (
            f"local archive {name} (md5 {md5}): not the official CIFAR-10, whose binary "
            f"archive has md5 {BINARY_MD5}"
        )
        short = f"{name} (md5 {md5[:8]}, not official)"
    return {
        "origin": origin,
        "archive": name,
        "archive_path": str(archive),
        "md5": md5,
        "official_cifar10": official,
        "url": url if origin == "download" else None,
        "synthetic": dict(synthetic) if origin == "synthetic" else None,
        "description": description,
        "short": short,
    }


def load_prepared(path) -> dict:
    """Load the arrays written by :func:`prepare` (no pickles allowed)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in ARRAY_KEYS if key not in npz.files]
            if missing:
                raise DataError(f"prepared data {path} lacks the arrays {', '.join(missing)}")
            arrays = {key: npz[key] for key in ARRAY_KEYS}
    except DataError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"cannot load prepared data {path}: {error}") from error
    validate_arrays(arrays, source=str(path))
    return arrays


def validate_arrays(arrays: dict, source: str) -> None:
    """Raise DataError unless ``arrays`` holds non-empty NHWC uint8 images and int64 labels."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        where = f"{split} split of {source}"
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE, 3):
            raise DataError(
                f"{where}: images are {x.dtype} {x.shape}, expected uint8 (N, 32, 32, 3)"
            )
        if y.dtype != np.int64 or y.shape != (len(x),):
            raise DataError(f"{where}: labels are {y.dtype} {y.shape}, expected int64 ({len(x)},)")
        if len(x) == 0:
            raise DataError(f"{where} is empty")
        _check_labels(where, y)


def summarize(arrays: dict) -> dict:
    num_classes = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    return {
        "n_train": int(len(arrays["y_train"])),
        "n_test": int(len(arrays["y_test"])),
        "num_classes": num_classes,
        "train_class_counts": np.bincount(arrays["y_train"], minlength=num_classes).tolist(),
        "test_class_counts": np.bincount(arrays["y_test"], minlength=num_classes).tolist(),
    }


def _save_npz_atomically(path: Path, arrays: dict) -> None:
    # Writing through a file object stops np.savez from appending ".npz" to the name.
    with atomic_output(path) as partial, open(partial, "wb") as f:
        np.savez(f, **{key: arrays[key] for key in ARRAY_KEYS})
