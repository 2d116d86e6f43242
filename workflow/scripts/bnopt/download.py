"""The CIFAR-10 archive, downloaded: retries with back-off, the md5 checked before the file is
moved into place, and a message that says how to use a local copy when there is no network."""

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

from .data import DataError, md5sum
from .files import remove_stale_temporaries, temporary_name

_CHUNK_BYTES = 1 << 20


class DownloadError(DataError):
    """The archive could not be downloaded."""


class _ChecksumMismatch(Exception):
    pass


class _NotRetried(Exception):
    pass


def download(url, dest, md5, retries=4, backoff_s=2.0, timeout_s=60.0) -> Path:
    """Download ``url`` to ``dest`` and check its md5; retry network errors and bad checksums.

    ``retries`` is the number of attempts after the first one. Nothing is left at ``dest``
    unless the checksum matched, and no temporary file is left behind.
    """
    dest = Path(dest)
    if dest.is_file() and md5sum(dest) == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    last_error = "no attempt was made"
    for attempt in range(retries + 1):
        if attempt > 0:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            _fetch_verified(url, dest, md5, timeout_s)
            return dest
        except _NotRetried as error:
            raise DownloadError(_download_failure_message(url, dest, md5, error)) from error
        except _ChecksumMismatch as error:
            last_error = str(error)
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
        ) as error:
            last_error = _describe_network_error(error)
    raise DownloadError(
        _download_failure_message(url, dest, md5, f"{last_error} (after {retries + 1} attempts)")
    )


def _fetch_verified(url, dest: Path, md5: str, timeout_s: float) -> None:
    partial = temporary_name(dest, "part")
    remove_stale_temporaries(dest, "part")
    try:
        digest = hashlib.md5()
        try:
            response = urllib.request.urlopen(url, timeout=timeout_s)
        except ValueError as error:
            raise _NotRetried(f"invalid URL: {error}") from error
        except urllib.error.HTTPError as error:
            if 500 <= error.code < 600:
                raise
            raise _NotRetried(f"HTTP error {error.code} {error.reason} (not retried)") from error
        with response, open(partial, "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise _ChecksumMismatch(
                f"md5 of the downloaded file is {digest.hexdigest()}, not {md5}"
            )
        os.replace(partial, dest)
    except OSError as error:
        if isinstance(error, urllib.error.URLError | ConnectionError | TimeoutError):
            raise
        raise _NotRetried(f"cannot write {partial}: {error}") from error
    finally:
        partial.unlink(missing_ok=True)


def _describe_network_error(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP error {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"network error: {error.reason}"
    return f"network error: {type(error).__name__}: {error}"


def _download_failure_message(url, dest: Path, md5: str, error) -> str:
    name = PurePosixPath(urllib.parse.urlparse(url).path).name or dest.name
    return (
        f"could not download {url} to {dest}: {error}. "
        f"Without network access, copy {name} (md5 {md5}) to this machine and set "
        f"data.archive to its path (e.g. --config data='{{archive: /data/{name}}}'); "
        f"the workflow reads that file and never moves, rewrites or deletes it."
    )
