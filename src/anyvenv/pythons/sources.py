"""Where a CPython build comes from: release metadata (version -> url, sha256) and mirrors.

The metadata is the table shipped in the ``pbs-installer`` package (regenerated with every
python-build-standalone release); only its data is used, not its download or extraction
code. ``ANYVENV_PYTHON_DOWNLOADS_JSON`` replaces it with a JSON file in the format of uv's
``download-metadata.json`` (what ``UV_PYTHON_DOWNLOADS_JSON_URL`` points at), for
air-gapped sites and private builds. ``ANYVENV_PYTHON_INSTALL_MIRROR`` (or ``--mirror``)
replaces the GitHub release base URL, like uv's ``UV_PYTHON_INSTALL_MIRROR``; ``file://``
URLs and plain directory paths work, so an offline mirror is a directory holding
``<release>/<file name>``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from anyvenv.errors import AnyvenvError, UsageError
from anyvenv.interpreter.buildtarget import Platform, current_platform
from anyvenv.interpreter.request import parse_request

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from typing import Any

MIRROR_ENV = "ANYVENV_PYTHON_INSTALL_MIRROR"
DOWNLOADS_JSON_ENV = "ANYVENV_PYTHON_DOWNLOADS_JSON"
# uv's own, read when anyvenv's are unset: a site set up for uv works as it is
UV_MIRROR_ENV = "UV_PYTHON_INSTALL_MIRROR"
UV_DOWNLOADS_JSON_ENV = "UV_PYTHON_DOWNLOADS_JSON_URL"
GITHUB_RELEASE_BASES = (
    "https://github.com/astral-sh/python-build-standalone/releases/download",
    "https://github.com/indygreg/python-build-standalone/releases/download",
)
ARCHIVE_SUFFIX = ".tar.gz"  # install_only builds; the stdlib reads them on every Python

Version = tuple[int, int, int]


class NoSuchDownload(UsageError):
    """No known build matches the requested version on this platform."""


class BadDownloadsFile(UsageError):
    """The downloads JSON file the user named cannot be read or is not in the expected
    format: their setting to fix (exit 2)."""


@dataclass(frozen=True)
class PythonDownload:
    """One downloadable install_only build."""

    version: Version
    free_threaded: bool
    platform: Platform
    url: str
    sha256: str | None

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def install_name(self) -> str:
        """The install directory's name, as uv names it: ``cpython-3.12.9-linux-x86_64-gnu``."""
        variant = "+freethreaded" if self.free_threaded else ""
        return f"cpython-{self.version_text}{variant}-{self.platform.key}"

    @property
    def filename(self) -> str:
        return unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])

    @property
    def release(self) -> str:
        """The python-build-standalone release (a date such as ``20250317``), if the URL says."""
        for base in GITHUB_RELEASE_BASES:
            if self.url.startswith(base + "/"):
                return self.url[len(base) + 1 :].split("/", 1)[0]
        return ""

    @property
    def executable_name(self) -> str:
        return f"python{self.version[0]}.{self.version[1]}{'t' if self.free_threaded else ''}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.install_name,
            "version": self.version_text,
            "free_threaded": self.free_threaded,
            "url": self.url,
            "sha256": self.sha256,
            "release": self.release,
        }


# -- metadata --------------------------------------------------------------------------------


def _pbs_platform(target: Platform) -> tuple[str, str]:
    """pbs-installer's names for a platform: ``macos`` for darwin, ``x86`` for i686."""
    os_name = {"darwin": "macos"}.get(target.os, target.os)
    arch = {"i686": "x86"}.get(target.arch, target.arch)
    return os_name, arch


PBS_INSTALLER_WITH_TABLE = "2026.10.25"
"""The first pbs-installer release whose table is a data file (``versions.json``), which
anyvenv reads without importing the package; pyproject.toml requires it."""


def downloads_from_pbs_installer(target: Platform) -> list[PythonDownload]:
    """The install_only CPython builds for ``target`` in pbs-installer's table.

    pbs-installer lists one Linux build per architecture (glibc); other libcs get nothing.
    """
    from importlib import resources

    try:
        raw = resources.files("pbs_installer").joinpath("versions.json").read_text("utf-8")
        payload = json.loads(raw)
    except (ModuleNotFoundError, OSError, ValueError) as exc:
        raise BadDownloadsFile(
            f"cannot read the release table of pbs-installer ({exc})",
            f"upgrade it to {PBS_INSTALLER_WITH_TABLE} or later, the first to ship it as "
            "versions.json (`pip install --upgrade pbs-installer` where anyvenv is installed), "
            f"or set {DOWNLOADS_JSON_ENV} to a downloads JSON file",
        ) from exc
    if target.os == "linux" and target.libc != "gnu":
        return []
    os_name, arch = _pbs_platform(target)
    found: list[PythonDownload] = []
    for entry in payload:
        version = entry["python_version"]
        if version["implementation"] != "cpython":
            continue
        for file in entry["files"]:
            if (
                file["install_only"]
                and file["platform"] == os_name
                and file["arch"] == arch
                and file["filename"].endswith(ARCHIVE_SUFFIX)
            ):
                found.append(
                    PythonDownload(
                        version=(
                            int(version["major"]),
                            int(version["minor"]),
                            int(version["micro"]),
                        ),
                        free_threaded=bool(version["freethreaded"]),
                        platform=target,
                        url=str(file["url"]),
                        sha256=file.get("sha256"),
                    )
                )
    return found


def _uv_entry(name: str, entry: Mapping[str, Any], source: str) -> PythonDownload | None:
    """One entry of a uv-style downloads file; ``None`` for what we do not install."""
    try:
        if not isinstance(entry, Mapping):
            raise TypeError(f"{type(entry).__name__}, not a table")
        if entry.get("name", "cpython") != "cpython" or entry.get("prerelease"):
            return None
        variant = entry.get("variant") or ""
        if variant not in ("", "freethreaded"):
            return None  # debug builds
        arch = entry["arch"]
        family = arch["family"] if isinstance(arch, Mapping) else arch
        if isinstance(arch, Mapping) and arch.get("variant"):
            return None  # x86_64_v2 etc.: we pick the baseline build
        url = str(entry["url"])
        if not urlsplit(url).path.endswith(ARCHIVE_SUFFIX):
            return None
        return PythonDownload(
            version=(int(entry["major"]), int(entry["minor"]), int(entry["patch"])),
            free_threaded=variant == "freethreaded",
            platform=Platform(str(entry["os"]), str(family), str(entry["libc"])),
            url=url,
            sha256=_sha256_text(entry.get("sha256")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        what = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
        raise BadDownloadsFile(
            f"entry {name!r} of {source} is not a download: {what}",
            "each entry needs name, arch, os, libc, major, minor, patch, url, sha256",
        ) from exc


def _sha256_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"sha256 is {type(value).__name__}, not a string")


def downloads_from_json_file(
    path: str | os.PathLike[str], variable: str = DOWNLOADS_JSON_ENV
) -> list[PythonDownload]:
    """Every CPython install_only build listed in a uv-style downloads JSON file (named by
    ``variable``, for the hint of an error)."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise BadDownloadsFile(
            f"cannot read the downloads file {source}: {exc.strerror}",
            f"fix or unset {variable}",
        ) from exc
    except ValueError as exc:
        raise BadDownloadsFile(
            f"the downloads file {source} is not valid JSON ({exc})",
            f"fix or unset {variable}",
        ) from exc
    if not isinstance(data, Mapping):
        raise BadDownloadsFile(
            f"the downloads file {source} is not a JSON object of downloads",
            "use the format of uv's download-metadata.json",
        )
    found = (_uv_entry(str(name), entry, source) for name, entry in data.items())
    return [item for item in found if item is not None]


def available_downloads(target: Platform | None = None) -> list[PythonDownload]:
    """Builds for ``target`` (default: this machine), newest first, from the downloads file
    named by ``ANYVENV_PYTHON_DOWNLOADS_JSON`` (else uv's ``UV_PYTHON_DOWNLOADS_JSON_URL``
    when it names a local file) or else from pbs-installer's table."""
    target = target or current_platform()
    variable, override = DOWNLOADS_JSON_ENV, os.environ.get(DOWNLOADS_JSON_ENV)
    if not override:
        variable = UV_DOWNLOADS_JSON_ENV
        override = _local_file(os.environ.get(variable, ""))
    if override:
        everything = downloads_from_json_file(override, variable)
        found = [item for item in everything if item.platform == target]
    else:
        found = downloads_from_pbs_installer(target)
    unique = {(item.version, item.free_threaded): item for item in reversed(found)}
    # newest first; of one version, the default build before the free-threaded one (as the
    # installed ones are listed)
    return sorted(
        unique.values(), key=lambda item: (item.version, not item.free_threaded), reverse=True
    )


def has_build(request: str, *, unknown: bool = True) -> bool:
    """Whether ``anyvenv python install REQUEST`` has a build to install here; ``unknown``
    where that cannot be told (a request that names no version, a downloads file not
    readable)."""
    try:
        select_download(request, available_downloads())
    except NoSuchDownload:
        return False
    except (AnyvenvError, OSError, ValueError):
        return unknown
    return True


def select_download(request: str, downloads: Iterable[PythonDownload]) -> PythonDownload:
    """The newest build matching ``request`` (``3.12``, ``3.12.4``, ``3.13t``, ``>=3.11``).

    A free-threaded build is chosen only when asked for (``3.13t``).
    """
    parsed = parse_request(request)
    if not parsed.names_a_version or not request.strip():  # (cpython, any: the newest)
        raise UsageError(
            f"{request!r} is not a Python version",
            "ask for a version such as 3.12, 3.12.4 or 3.13t",
        )
    candidates = list(downloads)
    here = candidates[0].platform.key if candidates else current_platform().key
    if not parsed.platform_matches(here):
        raise NoSuchDownload(
            f"{request!r} names a build for another platform than this one ({here})",
            "anyvenv installs Pythons that run here: ask for the version alone (3.12)",
        )
    wanted_threaded = parsed.free_threaded is True
    for item in candidates:
        if item.free_threaded == wanted_threaded and parsed.matches_version(
            item.version, item.free_threaded
        ):
            return item
    minors = sorted({item.version[:2] for item in candidates}, reverse=True)
    known = ", ".join(f"{a}.{b}" for a, b in minors[:8]) or "none"
    raise NoSuchDownload(
        f"no CPython build matching {request!r} for {here} is known (known: {known})",
        "pick a listed version ('anyvenv python list --available'), or set "
        f"{DOWNLOADS_JSON_ENV} to a downloads file that has it",
    )


def _local_file(location: str) -> str | None:
    """The path of a ``file://`` URL or a plain path; ``None`` for a remote URL or nothing
    (anyvenv downloads no release table: the built-in one is used instead)."""
    if not location:
        return None
    if "://" not in location:
        return location
    parts = urlsplit(location)
    return unquote(parts.path) if parts.scheme == "file" else None


# -- mirrors ---------------------------------------------------------------------------------


def normalize_mirror(mirror: str) -> str:
    """A mirror base URL without a trailing slash; a plain directory path becomes file://."""
    text = mirror.strip()
    if "://" not in text:
        return Path(os.path.expanduser(text)).absolute().as_uri()  # (no home: ~ stays)
    return text.rstrip("/")


def download_url(download: PythonDownload, mirror: str | None = None) -> str:
    """Where to fetch ``download``: its URL with the GitHub release base replaced by the
    mirror (``mirror``, else ``ANYVENV_PYTHON_INSTALL_MIRROR``, else uv's
    ``UV_PYTHON_INSTALL_MIRROR``; an empty one counts as none). URLs not under the GitHub
    base (from a custom downloads file) are used as they are."""
    base = mirror or os.environ.get(MIRROR_ENV) or os.environ.get(UV_MIRROR_ENV) or None
    if not base:
        return download.url
    for github in GITHUB_RELEASE_BASES:
        if download.url.startswith(github + "/"):
            return normalize_mirror(base) + download.url[len(github) :]
    return download.url
