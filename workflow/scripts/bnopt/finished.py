"""A finished run's outputs, kept so that a rerun of its job restores them in seconds.

Snakemake deletes a job's outputs before it runs the job again: after an interrupted
Snakemake flagged outputs that the job had in fact finished as incomplete, or under
--forcerun. So a run that has written all its outputs keeps them in `.finished/` beside
them, as hard links (no extra disk space; copies where the file system has no links), with
a manifest of their sha256 and of the run's identity: its settings, the contents of its
data and its code identity. A rerun with the same identity whose files verify restores them
instead of training again; anything else (other settings, edited code, new data, a damaged file)
trains as usual.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from pathlib import Path

from .errors import UserError
from .files import atomic_output, file_digest, remove_stale_temporaries, temporary_name

log = logging.getLogger("bnopt.finished")

FOLDER = ".finished"
MANIFEST = "manifest.json"


def run_identity(
    settings: Mapping, device_type: str, data_files: Iterable = (), code: str = ""
) -> str:
    """What a run's numbers depend on: its settings, what they leave open (the device type
    it really runs on, since `auto` may fall back to the CPU, and the torch version), the
    contents of its data files and its code (bnopt.code_identity: the code the training job
    runs, comments and docstrings left out).

    Files count by content only (not by name or order), so a moved checkout keeps the
    identity of its runs.
    """
    identity = {**settings, "resolved_device": device_type, "torch": version("torch")}
    if code:
        identity["code"] = code
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
    for file_hash in sorted(file_digest(path) for path in data_files):
        digest.update(file_hash.encode())
    return digest.hexdigest()[:16]


def folder_of(outputs: Mapping) -> Path:
    """Beside the run's meta.json (every run has one)."""
    return Path(outputs["meta"]).parent / FOLDER


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def record(outputs: Mapping, identity: str) -> None:
    """Keep the outputs just written (`outputs` maps a key to a path) under `identity`."""
    folder = folder_of(outputs)
    staging = temporary_name(folder)
    remove_stale_temporaries(folder)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        files = {}
        for key, path in outputs.items():
            _link_or_copy(Path(path), staging / key)
            files[key] = file_digest(staging / key)
        manifest = {"identity": identity, "sha256": files}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    except OSError as error:
        # Only a rerun's speed depends on it: the run itself has succeeded.
        log.warning("could not keep the finished outputs in %s: %s", folder, error)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def restore(outputs: Mapping, identity: str) -> dict | None:
    """Put back the outputs kept under `identity` and return their meta.json; None (and
    nothing written) when there are none, or they belong to another identity or are damaged.
    """
    folder = folder_of(outputs)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("identity") != identity:
        log.info("%s holds a run with other settings, code or data: training", folder)
        return None
    kept = manifest.get("sha256", {})
    try:
        intact = set(kept) >= set(outputs) and all(
            file_digest(folder / key) == kept[key] for key in outputs
        )
    except OSError:
        intact = False
    if not intact:
        log.warning("the finished outputs in %s are incomplete or damaged: training", folder)
        return None
    for key, path in outputs.items():
        with atomic_output(path) as tmp:
            _link_or_copy(folder / key, tmp)
    log.info("restored the outputs of this finished run from %s (identity %s)", folder, identity)
    return json.loads(Path(outputs["meta"]).read_text())


class ChangedOutput(UserError):
    """A finished run's file is not the one its run wrote."""


def verify(outputs: Mapping) -> None:
    """Check a finished run's files (key -> path, keys as in `record`) against the sha256 its
    manifest holds, before anything reads them; a file changed after its run finished (cut,
    edited, replaced) stops the job with the file named and how to train the run again."""
    folder = folder_of(outputs)
    again = (
        f"restore or train the run again with `snakemake --forcerun {outputs['meta']}` "
        "and your usual options"
    )
    try:
        kept = json.loads((folder / MANIFEST).read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ChangedOutput(
            f"{Path(outputs['meta']).parent} has no readable manifest "
            f"({folder / MANIFEST}: {error}), so its files cannot be checked: {again}"
        ) from None
    for key, path in outputs.items():
        try:
            intact = file_digest(path) == kept.get(key)
        except OSError:
            intact = False
        if not intact:
            raise ChangedOutput(
                f"{path} is not the file its run wrote (its sha256 differs from the one in "
                f"{folder / MANIFEST}): it changed after training, and tables built from it "
                f"would be wrong; {again}"
            )
