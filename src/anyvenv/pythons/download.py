"""Fetch an archive into the download cache and prove it is the one the metadata names.

Bytes are hashed as they arrive into a temporary file beside the cache entry; only a file
whose sha256 matches is renamed into the cache. A cached file is hashed again before use,
so a damaged cache is fetched anew, never installed. Nothing here touches an install dir.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from anyvenv.errors import NO_OPTIONS, AnyvenvError, OptionWords
from anyvenv.fs.leftovers import TEMP_MARK, leftover_stem, leftover_tag, sweep_dead
from anyvenv.fs.outcome import errno_name
from anyvenv.killpoints import checkpoint
from anyvenv.userdirs import cache_home

CACHE_ENV = "ANYVENV_CACHE_DIR"
CHUNK = 1 << 20
TIMEOUT = 60.0

ProgressCallback = Callable[[int, "int | None"], None]
"""Called with (bytes so far, total bytes or None) as a download goes."""


class ChecksumMismatch(AnyvenvError):
    """The bytes fetched are not the archive the metadata names."""


class DownloadFailed(AnyvenvError):
    """The archive could not be fetched."""


def download_cache_dir() -> Path:
    """``$ANYVENV_CACHE_DIR/python-downloads``, else ``$XDG_CACHE_HOME/anyvenv/...``."""
    from anyvenv.userdirs import own_dir

    override = own_dir(CACHE_ENV)
    if override:
        return Path(override) / "python-downloads"
    return Path(cache_home(), "anyvenv", "python-downloads")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_expected(expected: str | None, what: str) -> str:
    if not expected or len(expected) != 64:
        raise ChecksumMismatch(
            f"no sha256 is known for {what}, so it cannot be verified",
            "use a downloads file that gives the sha256 of every archive",
        )
    return expected.lower()


def fetch_verified(
    url: str,
    sha256: str | None,
    filename: str,
    cache_dir: Path,
    progress: ProgressCallback | None = None,
    offline: bool = False,
    words: OptionWords = NO_OPTIONS,
) -> Path:
    """The path of a cached file with the bytes of ``url`` whose sha256 is ``sha256``.

    Raises :class:`ChecksumMismatch` when the bytes differ (nothing is kept) and
    :class:`DownloadFailed` when they cannot be fetched, or (``offline``) when they would
    have to come over the network (a ``file://`` URL is read still); ``words``: the
    caller's front end's, whose ``offline`` option the refusal names (none by default).
    """
    expected = _check_expected(sha256, filename)
    cached = cache_dir / filename
    if cached.is_file():
        if sha256_of(cached) == expected:
            return cached
        with contextlib.suppress(OSError):
            cached.unlink()  # damaged or replaced upstream: fetch again
    if offline and not url.startswith("file:"):
        flag = words.option("offline")  # (the caller's; a function's user said so itself)
        raise DownloadFailed(
            f"network access is off{f' ({flag} or UV_OFFLINE)' if flag else ''} and {filename} "
            "is not in the download cache",
            f"allow the network, or name a local mirror ({_MIRRORS})",
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    # named like atomic_write's temp files: the partial downloads of killed runs are cleared
    sweep_dead(cache_dir, TEMP_MARK, prefix=f"{leftover_stem(filename)}{TEMP_MARK}")
    partial = cache_dir / f"{leftover_stem(filename)}{TEMP_MARK}{leftover_tag()}"
    try:
        got = _stream_to(url, partial, progress)
        if got != expected:
            raise ChecksumMismatch(
                f"{filename} from {url} has sha256 {got}, expected {expected}",
                "the download or the mirror is corrupt or not the release named; "
                "nothing was installed",
            )
        os.replace(partial, cached)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return cached


# where a mirror is named, for every command that downloads (venv and sync have no --mirror)
_MIRRORS = (
    "ANYVENV_PYTHON_INSTALL_MIRROR or UV_PYTHON_INSTALL_MIRROR, or --mirror of "
    "'anyvenv python install'"
)


def _stream_to(url: str, destination: Path, progress: ProgressCallback | None) -> str:
    """Write the body of ``url`` to a new file ``destination``; returns its sha256."""
    digest = hashlib.sha256()
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise DownloadFailed(
            f"cannot download {url}: HTTP {exc.code} {exc.reason}",
            f"check the version, the mirror ({_MIRRORS}) or the network",
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, OSError) and reason.strerror:  # (no "[Errno 2] ... 'path'")
            reason = reason.strerror
        raise DownloadFailed(
            f"cannot download {url}: {reason}",
            f"check the mirror ({_MIRRORS}) or the network",
        ) from exc
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except OSError as exc:
                    raise DownloadFailed(
                        f"the download of {url} broke off after {done} bytes: {exc}",
                        "try again",
                    ) from exc
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _cache_write_error(destination, exc) from exc
                digest.update(chunk)
                done += len(chunk)
                checkpoint("download:chunk")
                if progress is not None:
                    progress(done, total)
    if total is not None and done != total:
        raise DownloadFailed(
            f"the download of {url} ended after {done} of {total} bytes", "try again"
        )
    return digest.hexdigest()


def _cache_write_error(path: Path, exc: OSError) -> AnyvenvError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        full = "no space left on device" if exc.errno == errno.ENOSPC else "disk quota exceeded"
        return AnyvenvError(
            f"{full} for the download cache at {path.parent}",
            f"free space there or set {CACHE_ENV} to another directory",
        )
    return AnyvenvError(
        f"cannot write the download cache at {path.parent} ({errno_name(exc.errno)})",
        f"set {CACHE_ENV} to a writable directory",
    )
