"""Measure what the filesystem at a directory really does, by trying it there.

Every check runs inside a scratch directory created in the target itself (probing the temp
dir says nothing about a share), reads its results back, and cleans up after itself.
Results are cached per filesystem (device number) for the life of the process.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import time

from anyvenv.errors import AnyvenvError, DirectoryNotWritable, UsageError
from anyvenv.fs.atomic import (
    remember_directory_rename,
    renamed_directory_keeps_files,
    wrongly_taken_name,
)
from anyvenv.fs.bounded import beat
from anyvenv.fs.leftovers import leftover_tag, sweep_dead
from anyvenv.fs.mounts import (
    MountInfo,
    MountKey,
    mount_containing,
    mount_key,
    mount_of,
    renames_trees,
)
from anyvenv.fs.outcome import (
    NO,
    NO_REWRITES,
    OK,
    ONLY_NEW_FILES,
    REWRITES_WORK,
    Outcome,
    errno_name,
    outcome_of_error,
    write_error_fix,
)
from anyvenv.fs.place import FICLONE, write_all
from anyvenv.fs.remove import remove_tree_quietly
from anyvenv.fs.together import run_together
from anyvenv.record import as_dict, record, replace

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from anyvenv.fs.bounded import BoundedCall
    from anyvenv.spawn import Child

    T = TypeVar("T")
    # What a probe started early answers: ``None`` for a directory it is not to measure
    # (:func:`probe` then says what is wrong, as for any other); else the mount's fields, the
    # device and the checks.
    _MountFields = tuple[str, str, str, tuple[str, ...], str, tuple[str, ...]]
    _EarlyAnswer = tuple[_MountFields, int, dict[str, Outcome]] | None

PROBE_DIR_PREFIX = ".anyvenv-probe-"
_EXEC_SCRIPT = b"#!/bin/sh\nexit 0\n"

CHECKS = (
    "symlink_create",
    "symlink_relative",
    "symlink_dotdot",
    "symlink_absolute",
    "hardlink",
    "reflink",
    "chmod",
    "exec",
    "exec_by_default",
    "case_sensitive",
    "rename_over",
    "rename_open",
    "reopen_write",
    "excl_create",
    "flock",
    "fcntl_lock",
    "dir_rename",
)


@record
class ProbeResult:
    """What the filesystem at ``path`` did when tried. Each check is ``ok``, ``no`` or an errno name."""

    path: str
    mount_point: str | None
    fstype: str | None
    mount_options: tuple[str, ...]
    symlink_create: Outcome
    symlink_relative: Outcome
    symlink_dotdot: Outcome
    symlink_absolute: Outcome
    hardlink: Outcome
    reflink: Outcome
    chmod: Outcome
    exec: Outcome
    exec_by_default: Outcome  # "ok": a file created without exec bits has them (fixed modes)
    case_sensitive: Outcome
    rename_over: Outcome
    rename_open: Outcome  # a file still held open is renamed (libsmbclient: EBUSY)
    reopen_write: Outcome  # a file written through a second open keeps it (rclone, cache off)
    excl_create: Outcome
    flock: Outcome
    fcntl_lock: Outcome
    dir_rename: Outcome
    seconds: float = 0.0

    @property
    def symlinks_work(self) -> bool:
        """Links are created *and* read back right: relative, through ``..``, and absolute."""
        return (
            OK
            == self.symlink_create
            == self.symlink_relative
            == self.symlink_dotdot
            == self.symlink_absolute
        )

    @property
    def renames_trees(self) -> bool:
        """A directory holding files may be renamed here: its files were read back at once
        (``dir_rename``), and it is not rclone, where that passes only while racing the
        upload (see :data:`~anyvenv.fs.mounts.UNRENAMABLE_TREE_FSTYPES`)."""
        return self.dir_rename == OK and renames_trees(self.fstype)

    @property
    def keeps_reopened_writes(self) -> bool:
        """What is written through a second open of a file, while its first is held, is still
        there once both are closed: how uv writes every file it installs (see
        :func:`_check_reopen_write`). Where it is not ("no": the bytes were lost), no
        environment can live here; a write that failed outright (EIO, ENOSPC) says nothing of
        it: what writes there next meets that failure itself, and says it."""
        return self.reopen_write != NO

    @property
    def hardlinks_work(self) -> bool:
        return self.hardlink == OK

    @property
    def reflinks_work(self) -> bool:
        return self.reflink == OK

    @property
    def can_execute(self) -> bool:
        return self.exec == OK

    @property
    def chmod_works(self) -> bool:
        return self.chmod == OK

    @property
    def chmod_ignored_harmlessly(self) -> bool:
        """chmod is a silent no-op here, but files can be run and every new one is executable
        whatever mode it is made with (exFAT, CIFS with ``file_mode=0755``): nothing is lost."""
        return self.chmod == NO and self.can_execute and self.exec_by_default == OK

    @property
    def chmod_ignored_harmfully(self) -> bool:
        """chmod is a silent no-op and new files are not executable: a script made without
        its exec bits stays so (CIFS ``file_mode=0644``, bindfs ``--chmod-ignore``)."""
        return self.chmod == NO and not self.chmod_ignored_harmlessly

    @property
    def why_no_symlinks(self) -> str:
        """Why links are not used here, for messages ('' where they work): they fail, or
        they are made but cannot be read back, with the errno of each."""
        if self.symlinks_work:
            return ""
        if self.symlink_create != OK:
            return f"symlinks fail ({self.symlink_create})"
        return (
            "symlinks are created but cannot be read back "
            f"(relative: {self.symlink_relative}, absolute: {self.symlink_absolute})"
        )

    @property
    def chmod_fails(self) -> bool:
        """chmod gives an error (FAT's ENOSYS, EPERM), not merely nothing: what changes a
        file's mode after its creation fails (uv's install, its rewrite of uv.lock)."""
        return self.chmod not in (OK, NO)

    @property
    def rewrites(self) -> str:
        """How far a file can be written the way most tools write one (uv's installs, its
        rewrite of uv.lock and pyproject.toml): a temp file, given the old file's mode with
        fchmod, renamed into place while still held open (see :mod:`anyvenv.fs.outcome`):
        :data:`REWRITES_WORK`;
        :data:`ONLY_NEW_FILES` where chmod fails (FAT: a new file is written, an old one
        cannot be replaced); :data:`NO_REWRITES` where a file held open cannot be renamed
        (SMB through libsmbclient, EBUSY: not even a new file is written)."""
        if self.rename_open != OK:
            return NO_REWRITES
        return ONLY_NEW_FILES if self.chmod_fails else REWRITES_WORK

    @property
    def why_rewrites_fail(self) -> str:
        """Why a file cannot be rewritten here, for messages ('' where it can)."""
        if self.rename_open != OK:
            return f"a file held open cannot be renamed ({self.rename_open})"
        return f"chmod fails ({self.chmod})" if self.chmod_fails else ""

    @property
    def needs_mode_shim(self) -> bool:
        """chmod fails or is ignored harmfully: an env here needs anyvenv's chmod shim."""
        return self.chmod != OK and not self.chmod_ignored_harmlessly

    def checks(self) -> dict[str, Outcome]:
        return {name: getattr(self, name) for name in CHECKS}

    def verdict(self) -> str:
        """One line: what an environment here needs."""
        return verdict_for(self)

    def to_json(self) -> dict[str, Any]:
        data = as_dict(self)
        data["mount_options"] = list(self.mount_options)
        data["verdict"] = self.verdict()
        data["seconds"] = round(self.seconds, 4)
        return data


def verdict_for(result: ProbeResult) -> str:
    if not result.can_execute:
        return (
            f"nothing can be executed here (exec: {result.exec}): "
            "an environment must live on another filesystem"
        )
    if not result.keeps_reopened_writes:
        return (
            f"a file reopened for writing loses its writes here (reopen_write: "
            f"{result.reopen_write}), so uv's installs would come out empty: "
            "an environment must live on another filesystem"
        )
    if result.symlinks_work:
        head = "symlinks work: link the interpreter"
    elif result.symlink_create == OK:
        broken = (
            result.symlink_relative if result.symlink_relative != OK else result.symlink_absolute
        )
        how = (
            "read back wrong (rewritten or dangling)"
            if broken == NO
            else f"cannot be read back ({broken})"
        )
        head = f"copy the interpreter: symlinks are created but {how}"
    else:
        head = f"copy the interpreter: symlinks fail ({result.symlink_create})"
    notes = []
    if result.chmod_ignored_harmlessly:
        notes.append("chmod is ignored, but every file is executable")
    elif result.chmod == NO:
        notes.append("chmod is ignored: set modes when creating files")
    elif result.chmod != OK:
        notes.append(f"chmod fails ({result.chmod}): set modes when creating files")
    if result.rename_open != OK:
        notes.append(
            f"a file held open cannot be renamed ({result.rename_open}): "
            "uv's writes fail, install through a shadow env"
        )
    if result.flock != OK:
        notes.append(f"flock fails ({result.flock}): use lock files")
    if result.dir_rename != OK:
        notes.append(
            f"a renamed directory's files are lost or unreadable ({result.dir_rename}): move files"
        )
    elif not result.renames_trees:
        notes.append(f"directories are never renamed on {result.fstype}: move files")
    return "; ".join([head, *notes])


# -- the checks ------------------------------------------------------------------------------


_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _outcome(exc: OSError) -> Outcome:
    """What a failed call says of the filesystem. A full disk, a quota or a file size limit
    says nothing of it (``exec: ENOSPC`` would read "nothing can run here"): raised, for the
    probe to stop with the fix."""
    if exc.errno in _NO_ROOM:
        raise exc
    return outcome_of_error(exc)


def _try(action: Callable[[], bool]) -> Outcome:
    try:
        return OK if action() else NO
    except OSError as exc:
        return _outcome(exc)


def _same_file(a: str, b: str) -> bool:
    sa, sb = os.stat(a), os.stat(b)
    return (sa.st_dev, sa.st_ino, sa.st_size) == (sb.st_dev, sb.st_ino, sb.st_size)


def _write_new(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _try_symlink(target: str, link: str) -> Outcome:
    try:
        os.symlink(target, link)
    except OSError as exc:
        return _outcome(exc)
    return OK


def _try_hardlink(source: str, link: str) -> Outcome:
    """A write through the new name shows through the old one (sshfs invents inode numbers
    and link counts, so those prove nothing)."""
    try:
        os.link(source, link)
        fd = os.open(link, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"+")
        finally:
            os.close(fd)
        with open(source, "rb") as handle:
            return OK if handle.read().endswith(b"+") else NO
    except OSError as exc:
        return _outcome(exc)


def _check_symlink_read_back(link: str, target: str, real_target: str) -> Outcome:
    """The link reads back exactly as written and stat through it reaches the target."""
    try:
        if os.readlink(link) != target:
            return NO
        return OK if _same_file(link, real_target) else NO
    except FileNotFoundError:
        return NO  # dangling: the target string was rewritten on the way
    except OSError as exc:
        return _outcome(exc)


def _check_chmod(path: str) -> Outcome:
    # posix's own chmod: anyvenv may run from an env whose chmod shim (envbuild.modeshim)
    # replaced os.chmod and turns ENOSYS on that filesystem into a no-op
    import posix

    def change() -> bool:
        for mode in (0o700, 0o644):
            posix.chmod(path, mode)
            if stat.S_IMODE(os.stat(path).st_mode) != mode:
                return False
        return True

    return _try(change)


def _start_exec(path: str) -> Child | Outcome:
    """Start the script at ``path``: the running child, or why it could not start."""
    from anyvenv.spawn import Child

    try:
        return Child([path])
    except OSError as exc:
        return _outcome(exc)


def _finish_exec(started: Child | Outcome) -> Outcome:
    from anyvenv.spawn import SpawnTimeout

    if isinstance(started, str):
        return started
    try:
        done = started.wait(30)
    except SpawnTimeout:
        return "ETIMEDOUT"
    return OK if done.returncode == 0 else NO


def _check_reflink(src: str, dst: str) -> Outcome:
    if not sys.platform.startswith("linux"):
        return errno_name(errno.ENOTSUP)
    sfd = os.open(src, os.O_RDONLY)
    try:
        dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.ioctl(dfd, FICLONE, sfd)
            return OK
        except OSError as exc:
            return _outcome(exc)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)


def _check_case_sensitive(lower_name: str) -> Outcome:
    """``lower_name`` (an existing file named in lower case) is not found in upper case."""
    folder, name = os.path.split(lower_name)
    return NO if os.path.lexists(os.path.join(folder, name.upper())) else OK


def _check_rename_over(dirpath: str, existing: str) -> Outcome:
    """A new file renamed over ``existing`` replaces it (every file the probe makes is a round
    trip or more on a share: the victim is one the other checks made already)."""
    new = os.path.join(dirpath, "rename-new")

    def rename() -> bool:
        _write_new(new, b"new", 0o644)
        os.rename(new, existing)
        with open(existing, "rb") as handle:
            return handle.read() == b"new" and not os.path.lexists(new)

    return _try(rename)


def _check_rename_open(dirpath: str) -> Outcome:
    """A file is renamed while a descriptor of it is open, as uv persists its temp files
    (libsmbclient opens files without FILE_SHARE_DELETE: the server refuses, EBUSY)."""
    held, moved = os.path.join(dirpath, "open-held"), os.path.join(dirpath, "open-moved")

    def rename() -> bool:
        _write_new(held, b"held", 0o644)
        fd = os.open(held, os.O_RDONLY)
        try:
            os.rename(held, moved)
        finally:
            os.close(fd)
        return os.path.lexists(moved) and not os.path.lexists(held)

    return _try(rename)


_REOPENED_BYTES = b"anyvenv probe: written through a second open\n"


def _check_reopen_write(dirpath: str) -> Outcome:
    """A file made with ``O_RDWR | O_EXCL`` and held open is written through a second open
    (``O_TRUNC``), then both are closed: its bytes must be there. uv writes every file it
    installs so (a temp file, written through its path, renamed while still open). rclone
    without its VFS cache (``--vfs-cache-mode off``) uploads the empty first handle last:
    the file comes out empty ("no"); it fails other writes to an open file with EPERM."""
    path = os.path.join(dirpath, "reopened")

    def rewrite() -> bool:
        first = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            second = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
            try:
                write_all(second, _REOPENED_BYTES)
            finally:
                os.close(second)
        finally:
            os.close(first)
        with open(path, "rb") as stream:
            return stream.read(len(_REOPENED_BYTES) + 1) == _REOPENED_BYTES

    return _try(rewrite)


def _check_dir_rename(dirpath: str) -> Outcome:
    return _try(lambda: renamed_directory_keeps_files(dirpath))


def _check_locks(path: str) -> tuple[Outcome, Outcome]:
    """flock, then a POSIX (fcntl) lock, each taken and released on one open of ``path``, a
    new file (an existing one opened for writing fails at its close where a file reopened
    for writing loses its writes: EPERM, rclone without its VFS cache; measured apart)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        return _lock_outcome(fd, fcntl.flock), _lock_outcome(fd, fcntl.lockf)
    finally:
        os.close(fd)


def _lock_outcome(fd: int, lock: Callable[[int, int], object]) -> Outcome:
    try:
        lock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock(fd, fcntl.LOCK_UN)
        return OK
    except OSError as exc:
        return _outcome(exc)


def absolute_link_target() -> str:
    """An existing file outside most mounts: the running interpreter, resolved."""
    return os.path.realpath(sys.executable)


def make_scratch_dir(parent: str) -> str:
    """A fresh directory inside ``parent`` for trying things, to be removed with
    :func:`remove_tree_quietly`. Its name ends in HOST-PID-RAND: the ones of killed runs are
    cleared here the next time."""
    sweep_dead(parent, PROBE_DIR_PREFIX)
    for _ in range(8):
        path = os.path.join(parent, PROBE_DIR_PREFIX + leftover_tag())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free probe directory name", parent)  # pragma: no cover


class _Steps(dict[str, Outcome]):
    """The probe's results, each one a step that says the probe is alive (its bound, in a
    bounded child, then bounds each step: a slow share answers every operation in time)."""

    def __setitem__(self, key: str, value: Outcome) -> None:
        super().__setitem__(key, value)
        beat()


def _measure(
    dirpath: str, keep_times: bool = False, leave: bool = False, parallel: bool = False
) -> tuple[dict[str, Outcome], str | None]:
    """The checks, made in a scratch directory inside ``dirpath``, and that directory where
    they were all made and ``leave``: for the caller to remove (else ``None``: removed);
    ``keep_times``: the times of ``dirpath`` are put back as they were (for the commands that
    only look); ``parallel``: the checks that do not need each other are made at once, each
    in a directory of its own (on a share each call is a round trip; calls that change one
    directory wait for each other in the kernel, in different ones they do not)."""
    results: dict[str, Outcome] = _Steps()
    done = False
    running: Child | Outcome = NO
    before = os.stat(dirpath) if keep_times else None
    scratch = make_scratch_dir(dirpath)
    beat()  # (what killed probes left was cleared: a step of its own)
    try:
        plain = os.path.join(scratch, "plain")
        script = os.path.join(scratch, "script")
        try:
            _write_new(plain, b"anyvenv probe\n", 0o644)
            results["excl_create"] = OK
        except OSError as exc:
            results["excl_create"] = _outcome(exc)
            raise
        results["exec_by_default"] = _try(lambda: os.stat(plain).st_mode & 0o100 != 0)
        try:
            _write_new(script, _EXEC_SCRIPT, 0o755)
        except OSError as exc:
            running = _outcome(exc)
        else:
            running = _start_exec(script)  # runs while the other checks are made

        run_together(_chains(scratch, plain, results, parallel), parallel)
        results["exec"] = _finish_exec(running)
        done = True
    except OSError as exc:
        if results.get("excl_create") != OK:
            raise  # (no file could be made: the directory's refusal, said by _result)
        raise _failed_after_create(dirpath, exc) from exc
    finally:
        left = done and leave
        try:
            _clean_up(running, None if left else scratch)
        except BaseException:  # a second Ctrl-C landed in the clean-up: finish it, go on
            _clean_up(running, None if left else scratch)
            raise
        if before is not None:
            _put_times_back(dirpath, before)
    return dict(results), scratch if left else None  # (plain: marshalled from a child)


def _chains(
    scratch: str, plain: str, results: dict[str, Outcome], apart: bool
) -> list[Callable[[], None]]:
    """The checks after the first files, as chains that need nothing of each other, each
    setting its ``results``; ``apart``: each makes its files in a directory of its own under
    ``scratch`` (but the ones on ``plain``), to be run at once; else all in ``scratch``."""

    def own_directory(name: str) -> str:
        if not apart:
            return scratch  # (its names are no other chain's)
        path = os.path.join(scratch, name)
        os.mkdir(path, 0o700)
        return path

    def links() -> None:
        rel_link = os.path.join(scratch, "link-rel")
        results["symlink_create"] = _try_symlink("plain", rel_link)
        if results["symlink_create"] != OK:
            for key in ("symlink_relative", "symlink_dotdot", "symlink_absolute"):
                results[key] = results["symlink_create"]
            return
        results["symlink_relative"] = _check_symlink_read_back(rel_link, "plain", plain)
        sub = os.path.join(scratch, "sub")
        os.mkdir(sub)
        dotdot_link = os.path.join(sub, "link-dotdot")
        made = _try_symlink("../plain", dotdot_link)
        results["symlink_dotdot"] = (
            _check_symlink_read_back(dotdot_link, "../plain", plain) if made == OK else made
        )
        abs_link = os.path.join(scratch, "link-abs")
        outside = absolute_link_target()
        made = _try_symlink(outside, abs_link)
        results["symlink_absolute"] = (
            _check_symlink_read_back(abs_link, outside, outside) if made == OK else made
        )

    def of_plain() -> None:
        try:
            results["reflink"] = _check_reflink(plain, os.path.join(scratch, "clone"))
        except OSError as exc:
            results["reflink"] = _outcome(exc)
        results["chmod"] = _check_chmod(plain)
        results["case_sensitive"] = _try(lambda: _check_case_sensitive(plain) == OK)

    def hard_and_renames() -> None:
        folder = own_directory("hard")
        hard_source = os.path.join(folder, "hard-source")  # fresh: no attributes cached yet
        _write_new(hard_source, b"anyvenv probe\n", 0o644)
        results["hardlink"] = _try_hardlink(hard_source, os.path.join(folder, "hard"))
        results["rename_over"] = _check_rename_over(folder, hard_source)

    def open_renames() -> None:
        results["rename_open"] = _check_rename_open(own_directory("open"))

    def rewrites() -> None:
        results["reopen_write"] = _check_reopen_write(own_directory("reopen"))

    def directory_rename() -> None:
        results["dir_rename"] = _check_dir_rename(own_directory("moves"))

    def locks() -> None:
        folder = own_directory("locks")
        results["flock"], results["fcntl_lock"] = _check_locks(os.path.join(folder, "lock"))

    return [links, hard_and_renames, directory_rename, open_renames, rewrites, of_plain, locks]


_FREE_SPACE_FIX = "free space on that filesystem"  # (probe, venv and sync say it alike)


def _failed_after_create(dirpath: str, exc: OSError) -> AnyvenvError:
    """The error for a call that failed after the probe made its first file in ``dirpath``:
    not the directory refusing to be written (an EPERM said "you may not write to it"), but
    the filesystem failing a call an environment needs."""
    what = (
        f"cannot probe {dirpath}: a file was made there, then {exc.strerror or exc} "
        f"({errno_name(exc.errno)})"
    )
    if exc.errno in _NO_ROOM:
        return AnyvenvError(what, write_error_fix(exc.errno, _FREE_SPACE_FIX))
    return AnyvenvError(
        what, "the filesystem fails a call an environment needs: create it on another filesystem"
    )


def _put_times_back(dirpath: str, before: os.stat_result) -> None:
    """Best effort: a filesystem that keeps no such times, or refuses to set them, is left.
    Times that did not change are not set (a FAT volume's root has none: fusefat crashes
    when they are set)."""
    try:
        now = os.stat(dirpath)
        if (now.st_atime_ns, now.st_mtime_ns) != (before.st_atime_ns, before.st_mtime_ns):
            os.utime(dirpath, ns=(before.st_atime_ns, before.st_mtime_ns))
    except OSError:
        pass


def _clean_up(running: Child | Outcome, scratch: str | None) -> None:
    if not isinstance(running, str):
        running.kill()  # a check failed part-way: the script must not outlive the probe
    if scratch is not None:
        remove_tree_quietly(scratch)


def _fields(mount: MountInfo) -> _MountFields:
    """``mount`` as plain data, for a child's answer (``MountInfo(*fields)`` again)."""
    return (
        mount.mount_point, mount.fstype, mount.source, mount.options, mount.device,
        mount.super_options,
    )  # fmt: skip


def validate_probe_dir(path: str | os.PathLike[str]) -> tuple[str, MountInfo | None]:
    """The directory to probe and its mount, or a :class:`UsageError` naming what is wrong."""
    text = os.fsdecode(os.fspath(path))
    if not text:
        raise UsageError("the directory path is empty", "pass a directory, or none for '.'")
    if not os.path.lexists(text):
        from anyvenv.fs.paths import why_not_found

        raise UsageError(f"{text} {why_not_found(text)}", "pass an existing directory")
    if not os.path.isdir(text):
        raise UsageError(f"{text} is not a directory", "pass a directory")
    from anyvenv.fs.paths import first_unenterable

    blocked = first_unenterable(os.path.join(os.path.abspath(text), "."))
    if blocked is not None:  # (the working directory, below one this user may not enter)
        from anyvenv.fs.remove import ownership

        where = "it" if blocked == os.path.abspath(text) else blocked
        raise UsageError(
            f"{text} cannot be reached by its path: you may not enter {where} "
            f"({ownership(blocked)})",
            "work in a directory you may reach, or ask its owner to let you in",
        )
    mount = mount_of(text)
    if mount is not None and mount.read_only:
        raise DirectoryNotWritable(
            f"{text} is on a read-only mount ({mount.mount_point})",
            "pass a directory on a writable filesystem",
            reason=f"it is on a read-only mount ({mount.mount_point})",
            read_only=True,
        )
    if not os.access(text, os.W_OK | os.X_OK):
        from anyvenv.fs.remove import ownership

        raise DirectoryNotWritable(
            f"{text} is not writable by you ({ownership(text)})",
            "use a directory you can write to, or ask its owner",
            reason="you may not write to it",
            read_only=False,
        )
    return text, mount


def _validated(
    path: str | os.PathLike[str], timeout: float | None, with_device: bool = False
) -> tuple[str, MountInfo | None, int | None]:
    """:func:`validate_probe_dir`, in a bounded child where the path is on a mount that is
    not local (one that stops answering holds the first look at the path, ``lstat``, as
    much as the probe's own calls); ``with_device``: the directory's device too (what a
    cached answer is looked up by), in the same child, else ``None``."""
    text = os.fsdecode(os.fspath(path))
    written = mount_containing(os.path.abspath(text)) if text else None
    if written is None or written.is_local:
        checked, mount = validate_probe_dir(path)
        return checked, mount, os.stat(checked).st_dev if with_device else None
    from anyvenv.fs.bounded import call_bounded

    def plain() -> tuple[str, _MountFields | None, int | None]:
        checked, mount = validate_probe_dir(path)  # (plain data: no pickle in the child)
        device = os.stat(checked).st_dev if with_device else None
        if mount is None:
            return checked, None, device
        return checked, _fields(mount), device

    checked, fields, device = call_bounded(
        plain, what="probe", where=os.path.abspath(text), timeout=timeout
    )
    return checked, None if fields is None else MountInfo(*fields), device


def _call_directly(func: Callable[[], T], *, what: str, where: str, timeout: float | None) -> T:
    return func()


# the mount (see mounts.mount_key) -> the last result there (single dict operations: safe
# across threads)
_cache: dict[MountKey, ProbeResult] = {}


# directory -> (the measurement under way in a child, its mount point, when it started)
_started: dict[str, tuple[BoundedCall[_EarlyAnswer], str, float]] = {}
# the started probes answered, whose children may still be removing their scratch directory
_answered: list[BoundedCall[_EarlyAnswer]] = []


def start_probe(path: str | os.PathLike[str]) -> None:
    """Begin measuring the filesystem at ``path`` in a child process, so that the caller can
    load the rest of itself meanwhile; :func:`probe` of the same directory takes the answer.

    Only for mounts that are not local (there the probe is a round trip per call and runs in a
    child anyway); a bad directory is left for :func:`probe` to report. The child looks at
    the directory (what would hang on a hung mount) and measures it; it answers before it
    removes its scratch directory (each removal a round trip there), while the caller goes
    on. Call :func:`settle_started` before exiting, so no probe outlives its command and no
    scratch directory stays."""
    text = os.fsdecode(os.fspath(path))
    dirpath = os.path.abspath(text) if text else ""
    written = mount_containing(dirpath) if text else None
    if written is None or written.is_local or dirpath in _started:
        return
    if written.takes_names_wrongly and wrongly_taken_name(dirpath) is not None:
        return  # (refused by the command before it asks the share: see NAME_MANGLING_FSTYPES)
    from anyvenv.fs.bounded import start_bounded

    call = start_bounded(lambda: _early_answer(text), what="probe", where=dirpath, finishing=True)
    # the first look at the directory, as a probe's: where the mount answers nothing, the
    # command stops here, before any call of its own could hang on it
    call.wait_alive()
    _started[dirpath] = (call, written.mount_point, time.perf_counter())
    from anyvenv.spawn import before_exec

    before_exec(settle_started)  # (a program run in this process's place would not wait)


def _early_answer(text: str) -> _EarlyAnswer:
    """In a started probe's child: the directory checked, then measured (plain data); its
    scratch directory is removed once the answer is sent."""
    try:
        checked, mount = validate_probe_dir(text)
    except UsageError:
        return None  # (said by probe, as for a directory nobody started a probe of)
    beat()  # (looked at: see start_probe)
    if mount is None or mount.is_local:
        return None  # (through a link to a local disk: measured by probe, directly)
    fields = _fields(mount)
    device = os.stat(checked).st_dev
    results, scratch = _measure(os.path.abspath(checked), leave=True, parallel=True)
    if scratch is not None:
        from anyvenv.fs.bounded import after_answer

        after_answer(lambda: _remove_scratch(scratch))
    return fields, device, results


def _remove_scratch(scratch: str) -> None:
    """In a started probe's child, once it has answered: its scratch directory removed,
    while its command goes on (and may be stopped meanwhile: see ``bounded._ignore_stops``)."""
    from anyvenv.killpoints import checkpoint

    checkpoint("probe:answered")
    remove_tree_quietly(scratch)


def settle_started() -> None:
    """Wait for the probes :func:`start_probe` began, the ones nobody took (each within its
    bound) and the ones still removing what they made."""
    while _started:
        _, (call, _, _) = _started.popitem()
        try:
            call.result()
        except Exception:  # (nobody wants the answer: whatever it was is not this command's)
            pass
        _answered.append(call)
    while _answered:
        _answered.pop().finish()


def _device_and_checks(
    dirpath: str, keep_times: bool, parallel: bool
) -> Callable[[], tuple[int, dict[str, Outcome]]]:
    return lambda: (os.stat(dirpath).st_dev, _measure(dirpath, keep_times, parallel=parallel)[0])


def probe(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    *,
    use_cache: bool = True,
    timeout: float | None = None,
    keep_times: bool = False,
) -> ProbeResult:
    """Measure the filesystem holding ``path`` (a directory we may write to). ``keep_times``:
    leave its modification time as it was (a command that only looks, as a dry run).

    Raises :class:`UsageError` for a bad directory and :class:`MountNotAnswering` when the
    mount does not answer within the bound.
    """
    text = os.fsdecode(os.fspath(path))
    if "\0" in text:  # (as create says it; os would raise ValueError)
        raise UsageError("the path to probe contains a NUL character", "pass a path without one")
    started = _take_started(os.path.abspath(text)) if text and _started else None
    if started is not None:  # begun by start_probe: measured fresh, whatever use_cache says
        call, _, begun = started
        try:
            answer: _EarlyAnswer | OSError = call.result()
        except OSError as exc:
            answer = exc
        _answered.append(call)
        if answer is not None:  # (None: a directory it was not to measure, looked at below)
            return _early_result(os.path.abspath(text), begun, answer)
    looked_up = use_cache and bool(_cache)  # (its device: in the same child, where bounded)
    text, mount, device = _validated(text, timeout, with_device=looked_up)
    dirpath = os.path.abspath(text)
    # A local disk cannot hang like a network or FUSE mount: no child process needed there,
    # nor checks made at once (each call answers in microseconds)
    local = mount is not None and mount.is_local
    if local:
        bounded = _call_directly
    else:
        from anyvenv.fs.bounded import call_bounded as bounded
    if device is not None:
        cached = _cache.get(mount_key(device, mount))
        if cached is not None:  # the same mount's answers, about this directory
            return cached if cached.path == dirpath else replace(cached, path=dirpath)
    measure = _device_and_checks(dirpath, keep_times, parallel=not local)
    return _result(
        dirpath,
        mount,
        time.perf_counter(),
        lambda: bounded(measure, what="probe", where=dirpath, timeout=timeout),
    )


def probe_pending(path: str | os.PathLike[str]) -> bool:
    """Whether :func:`probe` of the directory ``path`` would take the answer of a probe
    :func:`start_probe` began (of it, or of another directory of its mount), one nobody has
    taken yet: a caller may write what does not depend on that answer while it is measured.
    ``False`` at once where no probe was started (a local disk: nothing is looked at)."""
    if not _started:
        return False
    return _started_key(os.path.abspath(os.fsdecode(os.fspath(path)))) is not None


def _started_key(dirpath: str) -> str | None:
    """The directory of the probe :func:`start_probe` began of ``dirpath``, else of another
    directory of its mount (the answers are the mount's, as cached ones are)."""
    if dirpath in _started:
        return dirpath
    mount = mount_containing(dirpath)
    for directory, (_, mount_point, _) in list(_started.items()):
        if mount is not None and mount.mount_point == mount_point:
            return directory
    return None


def _take_started(dirpath: str) -> tuple[BoundedCall[_EarlyAnswer], str, float] | None:
    """The probe :func:`start_probe` began for ``dirpath`` (see :func:`_started_key`), no
    longer to be taken by another."""
    key = _started_key(dirpath)
    return None if key is None else _started.pop(key, None)


def _early_result(dirpath: str, begun: float, answer: _EarlyAnswer | OSError) -> ProbeResult:
    """The result of a probe :func:`start_probe` began, or its error, said as a probe made now
    says it."""
    if isinstance(answer, OSError):
        failure = answer

        def failed() -> tuple[int, dict[str, Outcome]]:
            raise failure

        return _result(dirpath, None, begun, failed)
    assert answer is not None
    fields, device, results = answer
    return _result(dirpath, MountInfo(*fields), begun, lambda: (device, results))


def _result(
    dirpath: str,
    mount: MountInfo | None,
    started: float,
    measured_by: Callable[[], tuple[int, dict[str, Outcome]]],
) -> ProbeResult:
    try:
        device, measured = measured_by()
    except OSError as exc:
        refused = DirectoryNotWritable.refusing(exc, f"cannot probe {dirpath}")
        if refused is not None:
            raise refused from exc
        what = f"cannot probe {dirpath}: {exc.strerror or exc} ({errno_name(exc.errno)})"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.EINVAL):
            # a path where nothing can be made (under /proc, too long): the request's fault
            raise UsageError(what, "pass a directory where files can be created") from exc
        raise AnyvenvError(what, write_error_fix(exc.errno, _FREE_SPACE_FIX)) from exc
    result = ProbeResult(
        path=dirpath,
        mount_point=mount.mount_point if mount else None,
        fstype=mount.fstype if mount else None,
        mount_options=mount.options if mount else (),
        seconds=time.perf_counter() - started,
        **measured,
    )
    _cache[mount_key(device, mount)] = result
    # the commit of an env or install here needs this fact: it need not measure it again
    remember_directory_rename(mount_key(device, mount), result.renames_trees)
    return result


def clear_cache() -> None:
    _cache.clear()


def probe_path_for(target: str | os.PathLike[str]) -> str:
    """The nearest existing ancestor of ``target``: where a not-yet-made env will live."""
    current = os.path.abspath(target)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def files_in_use_stay(directory: str | os.PathLike[str]) -> bool:
    """Whether a file held open cannot be renamed, replaced or removed on the filesystem of
    ``directory`` (the probe's ``rename_open`` fails: SMB through libsmbclient, EBUSY; a
    directory holding one is not renamed either, EACCES). ``False`` on a local disk (no
    probe), and where it cannot be probed; a hung mount raises :class:`MountNotAnswering`."""
    from anyvenv.errors import MountNotAnswering

    mount = mount_of(os.fspath(directory))
    if mount is not None and mount.is_local:
        return False
    try:
        return probe(directory, keep_times=True).rename_open != OK
    except MountNotAnswering:
        raise
    except (OSError, AnyvenvError):
        return False
