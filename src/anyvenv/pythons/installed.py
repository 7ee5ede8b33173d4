"""What is installed in an install dir: list, find by request, uninstall.

An install is a directory named like uv's (``cpython-3.12.9-linux-x86_64-gnu``) holding
``bin/python3.X``. Staging and retired leftovers start with a dot and are never listed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from anyvenv.errors import AnyvenvError, InterpreterNotFound, OptionWords, UsageError
from anyvenv.fs import atomic, leftovers
from anyvenv.fs.lock import ShareLock
from anyvenv.fs.remove import remove_tree, why_unremovable
from anyvenv.interpreter.discovery import (
    INSTALL_DIR_ENV,
    anyvenv_install_dir,
    minor_link_name,
    parse_managed_name,
    this_machines_installs,
)
from anyvenv.interpreter.request import parse_request

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

RECORD_NAME = ".anyvenv-install.json"
LOCK_NAME = ".anyvenv-python.lock"


@dataclass(frozen=True)
class InstalledPython:
    name: str
    path: Path
    version: tuple[int, int, int]
    free_threaded: bool

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def platform_key(self) -> str:
        """``linux-x86_64-gnu``: the end of the name."""
        return "-".join(self.name.split("-")[-3:])

    @property
    def executable(self) -> Path:
        suffix = "t" if self.free_threaded else ""
        return self.path / "bin" / f"python{self.version[0]}.{self.version[1]}{suffix}"

    def record(self) -> dict[str, Any]:
        """What the installer wrote down (source URL, sha256, link plan); {} if nothing."""
        try:
            data = json.loads((self.path / RECORD_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version_text,
            "free_threaded": self.free_threaded,
            "path": str(self.path),
            "executable": str(self.executable),
            **{key: value for key, value in self.record().items() if key not in ("name",)},
        }


def resolve_install_dir(install_dir: str | os.PathLike[str] | None) -> Path:
    """``install_dir`` made absolute, or the default (``ANYVENV_PYTHON_INSTALL_DIR``, which
    must be absolute: uninstall removes things there); :class:`UsageError` for an empty path
    or one that is not a directory."""
    if install_dir is not None:
        if not os.fspath(install_dir):
            raise UsageError("the install directory path is empty", "pass a directory")
        chosen = Path(os.path.expanduser(install_dir)).absolute()  # (no home: ~ stays)
    else:  # (ANYVENV_PYTHON_INSTALL_DIR ~ expanded; a usage error when relative)
        chosen = anyvenv_install_dir().absolute()
    if chosen.exists() and not chosen.is_dir():
        fix = (  # (a path the caller passed, by whatever option its user gave it)
            "pass a directory as the install dir"
            if install_dir is not None
            else f"set {INSTALL_DIR_ENV} to a directory"
        )
        raise UsageError(f"{chosen} is not a directory", fix)
    return chosen


def install_lock(install_dir: Path, on_wait: Callable[[str], object] | None = None) -> ShareLock:
    """The lock every change to ``install_dir`` holds (works on shares); ``on_wait`` is told
    when another process holds it for long."""
    return ShareLock(install_dir / LOCK_NAME, on_wait=on_wait)


def installed_pythons(
    install_dir: str | os.PathLike[str] | None = None, *, without_interpreter: bool = False
) -> list[InstalledPython]:
    """Installs in ``install_dir`` for this machine's platform whose interpreter exists, newest
    first (as uv lists them: another OS's or architecture's builds are left out).
    ``without_interpreter``: those that have lost it too (what a killed uninstall or a killed
    file-by-file commit on FAT leaves), for uninstall to remove when asked to."""
    root = resolve_install_dir(install_dir)
    found: list[InstalledPython] = []
    for name, version, threaded in this_machines_installs(os.fspath(root)):
        entry = root / name
        item = InstalledPython(name, entry, version, threaded)
        if (without_interpreter and entry.is_dir()) or os.path.lexists(item.executable):
            found.append(item)
    return sorted(found, key=lambda item: (item.version, not item.free_threaded), reverse=True)


def matching(request: str, installs: list[InstalledPython]) -> list[InstalledPython]:
    """Installs named ``request`` exactly, or whose version satisfies it (``3.12``, ``3.13t``)."""
    by_name = [item for item in installs if item.name == request]
    if by_name:
        return by_name
    parsed = parse_request(request)
    if not parsed.names_a_version or parsed.is_any:
        raise UsageError(
            f"{request!r} is neither a version nor the name of an install",
            "pass a version (3.12) or a name shown by 'anyvenv python list'",
        )
    wanted_threaded = parsed.free_threaded is True
    return [
        item
        for item in installs
        if item.free_threaded == wanted_threaded
        and parsed.matches_version(item.version, item.free_threaded)
        and parsed.platform_matches(item.platform_key)
    ]


def find_installed(
    request: str | None, install_dir: str | os.PathLike[str] | None = None
) -> InstalledPython:
    """The newest install matching ``request`` (``None``: the newest of all)."""
    root = resolve_install_dir(install_dir)
    installs = installed_pythons(root)
    found = installs if request is None else matching(request, installs)
    if not found:
        wanted = request or "any version"
        raise InterpreterNotFound(
            f"no installed Python matches {wanted!r} in {root}",
            f"install one with 'anyvenv python install {request or '3'}'",
        )
    return found[0]


def has_leftovers(root: Path) -> bool:
    """Whether killed installs, reinstalls or uninstalls left anything in ``root`` whose
    maker (on this host) is gone. Reads only."""
    try:
        names = os.listdir(root)
    except OSError:
        return False
    return any(_dead_leftover(name) for name in names)


def recover_installs(root: Path) -> list[str]:
    """Undo what killed runs left in ``root``; call with :func:`install_lock` held. A crash
    between the two renames of a reinstall puts the old install back; staging and retired
    trees and temp files of dead runs go. Only anyvenv's dot-named leftovers are touched
    (the install dir may be uv's, with an install of uv's under way)."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    touched: list[str] = []
    targets = {name[1 : name.index(leftovers.MARK)] for name in names if _dead_leftover(name)}
    for target in sorted(targets):
        touched += leftovers.recover(root / target)
    return touched


def _dead_leftover(name: str) -> bool:
    if not name.startswith(".") or name.startswith(leftovers.MARK) or leftovers.MARK not in name:
        return False
    tail = name.rsplit("-", 3)[-3:]
    return len(tail) == 3 and leftovers.maker_is_gone("-".join(tail))


@dataclass(frozen=True)
class Uninstalled:
    """What an uninstall removed, and the requests nothing installed matched."""

    removed: list[InstalledPython]
    unmatched: list[str]
    # install name -> why some of its files are still there (in use: a process runs from
    # it); no longer an install, they are removed by the next install or uninstall
    left: dict[str, str] = field(default_factory=dict)
    # install name -> its names of anyvenv's in the user's bin dir, removed with it
    executables: dict[str, list[str]] = field(default_factory=dict)


def refuse_unremovable(name: str, path: Path, doing: str) -> None:
    """An error naming what keeps this user from removing the install ``name`` at ``path``
    (another user's install in a shared directory), before anything is changed: renamed
    aside, it would be hidden and broken for its owner, and half of it left."""
    why = why_unremovable(path)
    if why is not None:
        raise AnyvenvError(
            f"cannot {doing} {name}: {why}", f"run the {doing} as its owner, or ask them to"
        )


def uninstall(
    requests: list[str],
    install_dir: str | os.PathLike[str] | None = None,
    *,
    every: bool = False,
    on_lock_wait: Callable[[str], object] | None = None,
) -> Uninstalled:
    """Remove every install matching any of ``requests`` (with ``every``, all installs);
    ``on_lock_wait`` is told when another install or uninstall holds the install dir.

    As ``uv python uninstall``: a request nothing matches is reported (``unmatched``), the
    others are removed; nothing matching at all is no error either. Each
    install is first renamed aside under a staging name (one rename: a reader sees it or
    not), then deleted; a crash in between leaves a leftover that
    :func:`anyvenv.fs.leftovers.recover` removes, never a half-deleted install.
    """
    root = resolve_install_dir(install_dir)
    for request in requests:  # a usage error before anything is touched
        if parse_managed_name(request) is None:
            matching(request, [])
    if not root.is_dir():  # nothing was ever installed there
        return Uninstalled([], list(requests))
    chosen: dict[str, InstalledPython] = {}
    unmatched: list[str] = []
    removed: list[InstalledPython] = []
    with install_lock(root, on_lock_wait):
        # first what killed runs left (an install a crash left under its retired name is put
        # back, so it is removed now rather than coming back after this uninstall)
        recover_installs(root)
        installs = installed_pythons(root, without_interpreter=True)
        if every:
            chosen.update((item.name, item) for item in installs)
        for request in requests:
            found = matching(request, installs)
            if not found:
                unmatched.append(request)
            chosen.update((item.name, item) for item in found)
        if not chosen:
            return Uninstalled([], unmatched)
        for item in chosen.values():  # all or none: another user's install stops it here
            refuse_unremovable(item.name, item.path, "uninstall")
        from anyvenv.pythons.executables import entries_leading_to, remove_entries

        names = {item.name: entries_leading_to([item], os.environ) for item in chosen.values()}
        renames_work = atomic.directory_rename_keeps_contents(root)
        left: dict[str, str] = {}
        for item in chosen.values():
            if not item.path.exists():
                continue
            try:  # a step that fails here leaves the install as it was
                aside = _renamed_aside(item.path) if renames_work else None
                if aside is not None:
                    remains = aside
                else:  # fusefat: a renamed directory loses its files (and their space)
                    remains = os.fspath(item.path)
                    item.executable.unlink(missing_ok=True)  # no longer an install from here
            except OSError as exc:
                raise AnyvenvError(
                    f"cannot uninstall {item.name}: {exc.strerror or exc}",
                    f"check that you may change {root}, then run the uninstall again",
                ) from exc
            removed.append(item)
            try:
                remove_tree(remains)
            except OSError as exc:  # (files in use: FUSE and FAT keep them while open)
                left[item.name] = f"{exc.strerror or exc} ({exc.filename or remains})"
        unlinked = {item.name: remove_entries(names[item.name]) for item in removed}
        mend_uv_links(root, removed)
    return Uninstalled(removed, unmatched, left, unlinked)


def _renamed_aside(path: Path) -> str | None:
    """``path`` renamed to a staging name beside it, which is returned; ``None`` where it
    cannot be renamed (:func:`~anyvenv.fs.atomic.cannot_rename_tree`: an install in
    overlayfs's lower layer), and stays where it is."""
    aside = leftovers.staging_name(path)
    try:
        os.rename(path, aside)
    except OSError as exc:
        if atomic.cannot_rename_tree(exc):
            return None
        raise
    return aside


def _minor_link_name(item: InstalledPython) -> str:
    return minor_link_name(item.name, item.version, item.free_threaded)


def newer_for_uv_link(root: Path, item: InstalledPython) -> None:
    """As ``uv python install`` of a newer patch: uv's minor-version link there (if uv made
    one; anyvenv makes none) leads to ``item`` when it is newer than the patch it led to."""
    link = root / _minor_link_name(item)
    try:  # (uv's links, kept as uv keeps them where that can be done: never a failed install)
        if not link.is_symlink():
            return
        led_to = parse_managed_name(os.path.basename(os.readlink(link)))
        if led_to is None or (led_to[0] < item.version and led_to[1] == item.free_threaded):
            atomic.replace_with_symlink(os.fspath(link), item.name)
    except OSError:
        return


def mend_uv_links(root: Path, removed: list[InstalledPython]) -> None:
    """As ``uv python uninstall`` leaves uv's links in a shared install dir: a minor-version
    link (``cpython-3.12-linux-x86_64-gnu``) to a removed install leads to the newest patch
    left of that minor version, or is removed with the last one; links in uv's bin dir that
    now lead nowhere into ``root`` are removed. (Envs uv made through the link keep running.)"""
    if not removed:
        return
    try:  # (uv's links, kept as uv keeps them where that can be done: never a failed uninstall)
        _mend_minor_links(root, removed)
        _remove_dead_bin_links(root)
    except OSError:
        return


def _mend_minor_links(root: Path, removed: list[InstalledPython]) -> None:
    remaining = installed_pythons(root)
    for item in removed:
        link = root / _minor_link_name(item)
        if not link.is_symlink():
            continue
        newest = next(
            (
                other
                for other in remaining
                if _minor_link_name(other) == link.name and other.version[:2] == item.version[:2]
            ),
            None,
        )
        if newest is not None and os.path.exists(os.path.join(link, "bin")):
            continue  # (it leads to one that is there: someone's choice)
        if newest is not None:
            atomic.replace_with_symlink(os.fspath(link), newest.name)
        else:
            link.unlink(missing_ok=True)


def _remove_dead_bin_links(root: Path) -> None:
    """uv's ``python3.12`` links in its bin dir that led into ``root`` and now lead nowhere."""
    from anyvenv.fs.paths import is_below
    from anyvenv.pythons.executables import uv_bin_dir

    bin_dir = uv_bin_dir(os.environ)
    try:
        names = [name for name in os.listdir(bin_dir) if name.startswith("python")]
    except OSError:
        return
    roots = {os.fspath(root), os.path.realpath(root)}
    for name in names:
        path = os.path.join(bin_dir, name)
        try:
            aim = os.path.normpath(os.path.join(bin_dir, os.readlink(path)))
        except OSError:
            continue  # (not a link)
        if not os.path.exists(path) and any(is_below(aim, where) for where in roots):
            try:
                os.unlink(path)
            except OSError:
                continue  # (another's to remove)


def why_not_runnable(executable: str) -> str | None:
    """Why the interpreter at ``executable`` cannot be started (as execve would refuse it:
    not there, a link that cannot be followed, no execute permission), or ``None``. Not run:
    listing stays as cheap as a stat per install."""
    try:
        st = os.stat(executable)
    except OSError as exc:
        return exc.strerror or str(exc)
    if not os.path.isfile(executable):
        return "it is not a file"
    if not os.access(executable, os.X_OK):
        if on_noexec_mount(executable):
            return "its filesystem is mounted noexec"
        return f"it is not executable (mode {st.st_mode & 0o7777:04o})"
    return None


def on_noexec_mount(path: str) -> bool:
    """Whether ``path`` is on a filesystem mounted noexec (nothing there can be run)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_NOEXEC)
    except OSError:
        return False


def unrunnable_fix(executable: str, words: OptionWords) -> str:
    """What makes an installed Python whose interpreter cannot be run (:func:`why_not_runnable`)
    run: another install dir where its filesystem is mounted noexec (a reinstall there would
    not run either), else that or a reinstall (a copy made 0644 on a filesystem that can
    keep exec bits runs once made again). ``words``: the caller's front end's: ``python
    install`` names its options (``install_dir``, ``reinstall``); one that downloads a Python
    where none is found has neither."""
    install_dir, reinstall = words.option("install_dir"), words.option("reinstall")
    if install_dir:
        elsewhere = f"install into a directory on another filesystem ({install_dir}, or "
        elsewhere += f"{INSTALL_DIR_ENV} for every command)"
    else:
        elsewhere = f"set {INSTALL_DIR_ENV} to a directory on another filesystem"
    again = (
        f"{reinstall} it" if reinstall else "reinstall it ('anyvenv python install --reinstall')"
    )
    if on_noexec_mount(executable):
        return elsewhere
    return f"{elsewhere}, or {again} where files can be executable"
