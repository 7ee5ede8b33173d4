"""The Pythons ``python list`` shows, found as ``uv python list`` finds them: managed installs
(anyvenv's and uv's), the base interpreters on PATH, and the builds that can be installed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from anyvenv.errors import AnyvenvError
from anyvenv.interpreter.request import PythonRequest

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from anyvenv.pythons.sources import PythonDownload

DOWNLOAD, MANAGED, SYSTEM = "download", "managed", "system"
_KIND_ORDER = {DOWNLOAD: 0, MANAGED: 1, SYSTEM: 2}  # of one key: system, managed, download


@dataclass(frozen=True)
class ListedPython:
    """One row: an interpreter that is there (``path``) or a build to download (``url``)."""

    key: str  # cpython-3.12.9-linux-x86_64-gnu
    version: tuple[int, int, int]
    free_threaded: bool
    kind: str  # DOWNLOAD, MANAGED or SYSTEM
    path: str | None = None
    url: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # the install record or download

    @property
    def symlink(self) -> str | None:
        """Where ``path`` points, if it is a link (shown as uv shows it: ``path -> target``)."""
        if self.path is None or not os.path.islink(self.path):
            return None
        try:
            return os.readlink(self.path)
        except OSError:
            return None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.details,
            "name": self.key,
            "version": ".".join(map(str, self.version)),
            "free_threaded": self.free_threaded,
            "kind": self.kind,
            "installed": self.path,
            "symlink": self.symlink,
            **({"url": self.url} if self.url is not None else {}),
        }


@dataclass(frozen=True)
class ListScope:
    """What to list: ``installed`` and ``downloads`` say which kinds; ``install_dir`` given:
    the installs there and no other (no uv's, none on PATH); ``preference``: uv's
    python-preference (``only-managed`` leaves PATH out, ``only-system`` managed installs and
    downloads); ``every_patch``: every download, not the newest of each minor version."""

    installed: bool = True
    downloads: bool = True
    install_dir: str | None = None
    preference: str = "managed"
    every_patch: bool = False


@dataclass(frozen=True)
class PythonListing:
    """What ``python list`` shows: ``rows``, newest first; and the managed installs left out
    because their interpreter cannot be run here (``cannot_run``: its path and why), which
    uv too leaves out with a warning (an install made on a mount that shows files 0644)."""

    rows: list[ListedPython]
    cannot_run: list[tuple[str, str]] = field(default_factory=list)


def list_pythons(request: PythonRequest, scope: ListScope) -> PythonListing:
    """The rows of ``python list`` for ``request``, newest first, as uv orders them."""
    from anyvenv.pythons.installed import why_not_runnable

    managed: list[ListedPython] = []
    system: list[ListedPython] = []
    cannot_run: list[tuple[str, str]] = []
    if scope.preference != "only-system" and (scope.installed or scope.downloads):
        for row in managed_pythons(scope.install_dir):
            why = why_not_runnable(row.path or "")
            if why is not None:
                cannot_run.append((row.path or "", why))
            elif _wanted(request, row):
                managed.append(row)
    if scope.installed and scope.preference != "only-managed" and scope.install_dir is None:
        system = [row for row in system_pythons(request) if _wanted(request, row)]
        if scope.preference == "only-system":  # (uv's bin-dir links to managed installs)
            from anyvenv.interpreter.discovery import is_managed

            system = [row for row in system if not is_managed(row.path or "")]
    rows = [*system, *(managed if scope.installed else [])]
    if scope.downloads and scope.preference != "only-system" and request.names_a_version:
        installed = {row.key for row in managed} if scope.installed else set()
        for download in _downloads(request, scope.every_patch):
            if download.install_name not in installed:  # (else shown with its interpreter)
                rows.append(_download_row(download))
    rows.sort(key=lambda row: row.path or "", reverse=True)
    rows.sort(
        key=lambda row: (row.version, not row.free_threaded, row.key, _KIND_ORDER[row.kind]),
        reverse=True,
    )
    shown: list[ListedPython] = []
    paths: set[str] = set()
    for row in rows:  # a path once (two names of one install dir, PATH twice)
        if row.path is None or row.path not in paths:
            shown.append(row)
            paths.add(row.path or "")
    return PythonListing(shown, cannot_run)


def managed_pythons(install_dir: str | None = None) -> list[ListedPython]:
    """Installs for this machine: anyvenv's (with what their records say), then uv's not of
    the same name; or those in ``install_dir`` alone."""
    from anyvenv.errors import NoHomeDirectory, UsageError
    from anyvenv.interpreter.discovery import uv_install_root
    from anyvenv.pythons.installed import installed_pythons

    roots: list[str | None] = [install_dir]
    if install_dir is None:
        from contextlib import suppress

        with suppress(NoHomeDirectory):  # (no home: nor can uv have one under it)
            roots.append(uv_install_root())
    rows: list[ListedPython] = []
    names: set[str] = set()
    for root in roots:
        try:
            installs = installed_pythons(root)
        except NoHomeDirectory:
            continue  # (no home: no install of anyvenv's under it)
        except UsageError:
            if root is None or root == install_dir:
                raise
            continue  # uv's install dir is not a directory: uv has none there
        for item in installs:
            if item.name not in names:
                names.add(item.name)
                executable = str(item.executable)
                row = ListedPython(
                    item.name,
                    item.version,
                    item.free_threaded,
                    MANAGED,
                    executable,
                    details=item.to_json(),
                )
                rows.append(row)
    return rows


def system_pythons(request: PythonRequest) -> Iterator[ListedPython]:
    """The base interpreters on PATH (an env's python is not one), or the one a path or a name
    in ``request`` names; one that does not run is passed over, as uv warns and goes on."""
    from anyvenv.interpreter.buildtarget import current_platform
    from anyvenv.interpreter.discovery import path_interpreters
    from anyvenv.interpreter.query import query_interpreter

    if request.path is not None:
        candidates: Iterator[str] | list[str] = [os.path.abspath(os.path.expanduser(request.path))]
    elif request.name is not None and not request.specifiers:
        import shutil

        found = shutil.which(request.name)
        candidates = [] if found is None else [found]
    else:
        candidates = path_interpreters()
    host = current_platform().key
    for candidate in candidates:
        try:
            info = query_interpreter(candidate)
        except AnyvenvError:
            continue
        variant = "+freethreaded" if info.free_threaded else ""
        key = f"{info.implementation.lower()}-{info.version_text}{variant}-{host}"
        yield ListedPython(
            key,
            info.version,
            info.free_threaded,
            SYSTEM,
            path=candidate,
            details={"executable": info.executable},
        )


def _wanted(request: PythonRequest, row: ListedPython) -> bool:
    if request.path is not None or (request.name is not None and not request.specifiers):
        return row.kind == SYSTEM  # that interpreter alone
    return request.matches_version(row.version, row.free_threaded) and request.platform_matches(
        row.key.split("-", 2)[-1]
    )


def _downloads(request: PythonRequest, every_patch: bool) -> list[PythonDownload]:
    """The builds for this machine that ``request`` accepts (a free-threaded one only when
    asked for by name or when any is), the newest of each minor unless ``every_patch``."""
    from anyvenv.pythons.sources import available_downloads

    chosen = [
        item
        for item in available_downloads()
        if request.matches_version(item.version, item.free_threaded)
        and request.platform_matches(item.platform.key)
    ]
    if every_patch:
        return chosen
    seen: set[tuple[int, int, bool]] = set()
    newest = []
    for download in chosen:  # (newest first: the first of each minor is its newest patch)
        minor = (download.version[0], download.version[1], download.free_threaded)
        if minor not in seen:
            seen.add(minor)
            newest.append(download)
    return newest


def _download_row(download: PythonDownload) -> ListedPython:
    from anyvenv.pythons.sources import download_url

    return ListedPython(
        download.install_name,
        download.version,
        download.free_threaded,
        DOWNLOAD,
        url=download_url(download),  # (from the mirror, where one is set: as uv's list)
        details=download.to_json(),
    )
