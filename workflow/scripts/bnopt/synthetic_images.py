"""A learnable stand-in for CIFAR-10, written in exactly the binary archive's format (tests,
the demo, speed measurements): the workflow reads it like the real archive."""

import gzip
import io
import tarfile
from pathlib import Path

import numpy as np

from .data import (
    BINARY_DIR,
    IMAGE_BYTES,
    IMAGE_SIDE,
    NUM_CLASSES,
    RECORD_BYTES,
    TEST_BATCH,
    TRAIN_BATCHES,
)
from .files import atomic_output

# Each class is one local motif (20x20 pixels in one colour: the sign of a 4x4 random field
# upsampled, so shapes with edges in several orientations) pasted at a random offset: like a
# CIFAR object, it fills most of the frame but not at a fixed place, so a convolutional net
# must detect local features wherever they sit rather than match a global template. The
# sizes and amplitudes were chosen, before any claim was judged, so that the demo's standard
# VGG (1/8 width, batch 64) leaves its initial plateau early at lr 0.1: >50% training
# accuracy by steps 250-350 for init seeds 0, 1 and 2 (2026-12-02). Smaller motifs (12x12 on
# a 3x3 grid, 3 copies) left it below 50% until step ~600, and fainter ones near 10% for the
# whole demo.
_MOTIF_SIDE = 20
_MOTIF_GRID = 4
_COPIES = 1
_MOTIF_AMPLITUDE = 110.0
_CONTRAST_RANGE = (0.7, 1.3)
_NUISANCE_GRID = 4
_NUISANCE_STD = 20.0
_NOISE_STD = 10.0


def write_synthetic_archive(path, n_train, n_test, seed, num_classes=10) -> Path:
    """Write a learnable stand-in for CIFAR-10, in exactly the binary archive's format.

    A sample of class c is a smooth random background with pixel noise and _COPIES copies of
    class c's motif, each at a uniformly random position and contrast. Labels are balanced
    and shuffled. The same arguments give the same bytes.
    """
    if not 2 <= num_classes <= NUM_CLASSES:
        raise ValueError(f"num_classes must be in 2..{NUM_CLASSES}, got {num_classes}")
    if n_train < len(TRAIN_BATCHES) or n_test < 1:
        raise ValueError(
            f"need n_train >= {len(TRAIN_BATCHES)} (one per batch file) and n_test >= 1, "
            f"got {n_train} and {n_test}"
        )
    rng = np.random.default_rng(seed)
    motifs = _class_motifs(rng, num_classes)
    y_train = _balanced_labels(rng, n_train, num_classes)
    y_test = _balanced_labels(rng, n_test, num_classes)
    members = {}
    for name, labels in zip(
        TRAIN_BATCHES, np.array_split(y_train, len(TRAIN_BATCHES)), strict=True
    ):
        members[f"{name}.bin"] = _synthetic_records(rng, motifs, labels)
    members[f"{TEST_BATCH}.bin"] = _synthetic_records(rng, motifs, y_test)
    class_names = "".join(f"synthetic_class_{c}\n" for c in range(num_classes))
    members["batches.meta.txt"] = class_names.encode()
    return _write_tar_gz_atomically(
        Path(path), {f"{BINARY_DIR}/{k}": v for k, v in members.items()}
    )


def _bilinear_upsampling_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Matrix ``m`` (n_out, n_in) such that ``m @ v`` resamples ``v`` bilinearly, edges clamped."""
    positions = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lower = np.floor(positions).astype(int)
    upper = np.minimum(lower + 1, n_in - 1)
    weight_upper = positions - lower
    matrix = np.zeros((n_out, n_in))
    matrix[np.arange(n_out), lower] += 1 - weight_upper
    matrix[np.arange(n_out), upper] += weight_upper
    return matrix


def _upsample(images: np.ndarray, n_out: int) -> np.ndarray:
    """Bilinearly upsample the last two (square) axes of ``images`` to ``n_out`` x ``n_out``."""
    matrix = _bilinear_upsampling_matrix(images.shape[-1], n_out).astype(images.dtype)
    return matrix @ images @ matrix.T


def _class_motifs(rng, num_classes: int) -> np.ndarray:
    """One motif per class, (classes, 3, side, side): the sign of a smooth random field (so
    edges in several orientations) times a colour, centred per channel and scaled to a root
    mean square (over pixels, of the colour vector's norm) of 1."""
    field = _upsample(rng.standard_normal((num_classes, 1, _MOTIF_GRID, _MOTIF_GRID)), _MOTIF_SIDE)
    colour = rng.standard_normal((num_classes, 3, 1, 1))
    colour /= np.linalg.norm(colour, axis=1, keepdims=True)
    motifs = np.sign(field) * colour
    # Zero mean per channel: a class's average image carries no colour of its own, so only
    # the local pattern tells the classes apart (not a global template or the mean colour).
    motifs -= motifs.mean(axis=(2, 3), keepdims=True)
    motifs /= np.sqrt((motifs**2).sum(axis=1).mean(axis=(1, 2)))[:, None, None, None]
    return motifs.astype(np.float32)


def _balanced_labels(rng, n: int, num_classes: int) -> np.ndarray:
    return rng.permutation(np.arange(n) % num_classes).astype(np.uint8)


def _synthetic_records(rng, motifs: np.ndarray, labels: np.ndarray) -> bytes:
    """Binary CIFAR-10 records (label byte + channel-first image) for ``labels``."""
    n, side = len(labels), _MOTIF_SIDE
    low_res = rng.standard_normal((n, 3, _NUISANCE_GRID, _NUISANCE_GRID), dtype=np.float32)
    images = _NUISANCE_STD * _upsample(low_res, IMAGE_SIDE)
    images += _NOISE_STD * rng.standard_normal(images.shape, dtype=np.float32)
    for _ in range(_COPIES):
        contrast = rng.uniform(*_CONTRAST_RANGE, (n, 1, 1, 1)).astype(np.float32)
        pasted = _MOTIF_AMPLITUDE * contrast * motifs[labels]
        rows, cols = rng.integers(0, IMAGE_SIDE - side + 1, (2, n))
        for i in range(n):
            images[i, :, rows[i] : rows[i] + side, cols[i] : cols[i] + side] += pasted[i]
    images += 128.0
    records = np.empty((n, RECORD_BYTES), np.uint8)
    records[:, 0] = labels
    records[:, 1:] = np.clip(images, 0, 255).reshape(n, IMAGE_BYTES)
    return records.tobytes()


def _write_tar_gz_atomically(path: Path, members: dict) -> Path:
    """Write ``members`` (name -> bytes) as a reproducible tar.gz (fixed times and owners)."""
    with atomic_output(path) as partial, open(partial, "wb") as raw:
        # Stored, not compressed: noisy pixels shrink by under 5% and compressing 180 MB
        # costs seconds. It is still a valid gzip stream, like the real archive.
        with gzip.GzipFile(filename="", mode="wb", compresslevel=0, fileobj=raw, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
                for name, payload in members.items():
                    tar.addfile(_tar_entry(name, len(payload)), io.BytesIO(payload))
    return path


def _tar_entry(name: str, size: int) -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.size = size
    entry.mode = 0o644
    entry.mtime = 0
    return entry
