"""uv's rewrite of a PEP 723 script and its lock (``--script FILE``, ``FILE.lock``), made in a
copy on local disk where uv cannot make it in place, then put back by anyvenv.

Where chmod fails (FAT: ENOSYS), ``uv add --script`` and ``uv remove --script`` rewrite the
script, then fail writing its lock beside it and put the old text back over the new without
cutting the file to its length: the script is left torn (measured, its old tail after its
old text). ``uv lock --script`` cannot replace a lock that must change there, nor, where a
file held open cannot be renamed (SMB through libsmbclient), write one at all. As for a
project (:mod:`anyvenv.project.localcopy`), uv works on a copy of the script and its lock in
a directory on local disk instead, run from the same working directory (uv takes its settings
from there, not from the script's), and anyvenv puts back what changed with its own atomic
write. A script whose metadata names a path source, or whose packages come from a relative
path (uv writes it into the lock relative to the script), is refused: from the copy it would
lead elsewhere.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

    from anyvenv.errors import CannotEditHere

COPY_MARK = "anyvenv-script-"  # then HOST-PID-RAND: a killed run's copy is cleared later
_EDITS = ("add", "remove")
_SCRIPT_BLOCK = r"(?m)^# /// script$\s(?P<content>(^#(| .*)$\s)+)^# ///$"


def named_script(uv_args: Sequence[str], cwd: str, environ: Mapping[str, str]) -> str | None:
    """The file of ``--script FILE`` in ``uv_args``, as uv finds it (from ``--directory``)."""
    from anyvenv.project.uvrules import option_value, working_dir

    value = option_value(uv_args, "--script")
    if not value:
        return None
    return os.path.join(working_dir(option_value(uv_args, "--directory"), cwd, environ), value)


def lockfile_of(script: str) -> str:
    return script + ".lock"


def script_metadata(text: bytes) -> dict[str, object]:
    """The parsed TOML of a script's PEP 723 ``script`` block (``{}``: none, or not TOML;
    uv says so itself)."""
    import re

    from anyvenv.errors import UsageError
    from anyvenv.project.model import parse_toml

    match = re.search(_SCRIPT_BLOCK, text.decode("utf-8", "replace"))
    if match is None:
        return {}
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in match.group("content").splitlines(keepends=True)
    )
    try:
        return parse_toml("script", content.encode())
    except UsageError:
        return {}


def why_not_copyable(
    text: bytes, lock: bytes | None, uv_args: Sequence[str], environ: Mapping[str, str]
) -> str | None:
    """Why uv would not do the same to a copy of the script ``text`` and its ``lock``; ``None``:
    it would."""
    from anyvenv.project.localcopy import has_local_sources, relative_location_in, uv_table

    data = script_metadata(text)
    if has_local_sources(data):
        return "its metadata has path sources"
    relative = relative_location_in(lock, [uv_table(data)], uv_args, environ)
    if relative is not None:
        return f"it locks against a path relative to it ({relative})"
    return None


class ScriptCopy:
    """``with ScriptCopy(script) as copy:`` the script and its lock in a new directory on local
    disk (``copy.script``); :meth:`put_back` writes what uv changed there beside the script."""

    def __init__(self, script: str, text: bytes, lock: bytes | None) -> None:
        from anyvenv.fs.leftovers import scratch_dir

        self.original = script
        self.script = ""
        self.before = {script: text, lockfile_of(script): lock}
        self._scratch = scratch_dir("the script's copy on local disk", COPY_MARK)

    def __enter__(self) -> ScriptCopy:
        from anyvenv.fs.place import create_file

        root = self._scratch.__enter__()  # (the copies of killed runs are swept first)
        try:
            self.script = os.path.join(root, os.path.basename(self.original))
            for path, data in self.before.items():
                if data is not None:
                    create_file(self._in_copy(path), data, 0o644)
        except BaseException:
            self._scratch.__exit__(None, None, None)
            raise
        return self

    def _in_copy(self, path: str) -> str:
        return os.path.join(os.path.dirname(self.script), os.path.basename(path))

    def changed(self) -> dict[str, bytes]:
        """The script and lock paths whose copies uv changed, with their new bytes (the
        script first)."""
        from anyvenv.fs.atomic import read_small_file
        from anyvenv.project.localcopy import FILE_LIMIT

        found = {}
        for path, before in self.before.items():
            data = read_small_file(self._in_copy(path), FILE_LIMIT)
            if data is not None and data != before:
                found[path] = data
        return found

    def put_back(self) -> list[str]:
        """Write each changed file beside the script, in its mode (the script first); if one
        cannot be written, those written before are put back as they were. Their paths."""
        from anyvenv.fs.atomic import atomic_write
        from anyvenv.fs.place import DATA_MODE

        written: list[str] = []
        try:
            for path, data in self.changed().items():
                atomic_write(path, data, _mode_of(path, DATA_MODE))
                written.append(path)
        except BaseException:
            for path in written:
                old = self.before[path]
                if old is not None:
                    atomic_write(path, old, _mode_of(path, DATA_MODE))
            raise
        return written

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._scratch.__exit__(None, None, None)


def _mode_of(path: str, default: int) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return default


class ScriptResult:
    """What was done in a copy: uv's exit code, the files put back, what to tell."""

    __slots__ = ("notes", "uv_exit_code", "written")

    def __init__(self, uv_exit_code: int) -> None:
        self.uv_exit_code = uv_exit_code
        self.written: list[str] = []
        self.notes: list[str] = []


def edit_in_copy(
    uv_command: str,
    words: Sequence[str],
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
) -> ScriptResult | None:
    """``uv WORDS`` (``uv_command``: ``add``, ``remove`` or ``lock`` with ``--script FILE``
    among ``uv_args``) on a copy of the script and its lock, where uv cannot rewrite them
    beside the script; ``None`` where it can (or there is nothing for it to write)."""
    from anyvenv.fs.atomic import read_small_file
    from anyvenv.project.localcopy import FILE_LIMIT
    from anyvenv.project.uvcall import run_uv
    from anyvenv.project.uvlock import LOCK_WRITE_FREE_FLAGS
    from anyvenv.project.uvrules import has_flag
    from anyvenv.uvbinary import find_uv

    if uv_command not in (*_EDITS, "lock"):
        return None
    if uv_command == "lock" and has_flag(uv_args, *LOCK_WRITE_FREE_FLAGS, "--check-exists"):
        return None
    script = named_script(uv_args, cwd, environ)
    if script is None or os.path.islink(script):
        return None  # (uv's message for a missing script; a link is written through by uv)
    why = _why_rewrites_fail(os.path.dirname(script))
    if why is None:
        return None
    text = read_small_file(script, FILE_LIMIT)
    if text is None:
        return None
    lock = read_small_file(lockfile_of(script), FILE_LIMIT)
    reason = why_not_copyable(text, lock, uv_args, environ)
    if reason is not None:
        raise _cannot_edit(script, why, reason)
    with ScriptCopy(script, text, lock) as copy:
        result = ScriptResult(run_uv([find_uv(), *_on_copy(words, copy.script)], environ, cwd))
        if result.uv_exit_code != 0:
            return result
        new = copy.changed().get(script)
        if new is not None and why_not_copyable(new, None, (), {}) is not None:
            raise _cannot_edit(script, why, "uv would write a path source, relative to the copy")
        result.written = copy.put_back()
    if result.written:
        names = " and ".join(os.path.basename(path) for path in result.written)
        result.notes.append(
            f"uv cannot rewrite files beside {script}, as {why}, so it worked on a copy on "
            f"local disk, and anyvenv wrote {names} there"
        )
    return result


def relock_in_copy(
    uv_command: str,
    uv_args: Sequence[str],
    script: str,
    environ: Mapping[str, str],
    cwd: str,
) -> ScriptResult | None:
    """Before ``uv run`` or ``uv sync --script`` (``uv_command``, with ``uv_args``) on
    ``script``: uv rewrites its lock when it must change, which fails where uv cannot replace
    a file, so the lock is made first in a copy (``uv lock --script`` with the options of
    ``uv_args`` that it takes) and put back; uv then finds it current. ``None``: nothing was
    done (no lock, uv may write it there, or it need not change)."""
    from anyvenv.project.uvhelp import carried_over, uv_options
    from anyvenv.project.uvlock import LOCK_CHECK, lock_is_current, may_rewrite_lock
    from anyvenv.project.uvrules import without_options
    from anyvenv.uvbinary import find_uv

    if os.path.islink(script) or not os.path.isfile(lockfile_of(script)):
        return None
    if (
        not may_rewrite_lock(uv_args, environ)
        or _why_rewrites_fail(os.path.dirname(script)) is None
    ):
        return None
    uv = find_uv()
    # (sync's --script takes the file; run's is a flag, its file the command)
    given = without_options(uv_args, ("--script",)) if uv_command == "sync" else uv_args
    options = carried_over(given, uv_options(uv, uv_command), uv_options(uv, "lock"))
    lock_args = [
        *(word for word in options if word not in ("--script", "--gui-script")),
        "--script",
        script,
    ]
    if lock_is_current([uv, "lock", *lock_args], environ, cwd, LOCK_CHECK):
        return None
    return edit_in_copy("lock", ["lock", *lock_args], lock_args, environ, cwd)


def _why_rewrites_fail(directory: str) -> str | None:
    """Why uv cannot replace a file in ``directory`` (``None``: it can, or it cannot be
    probed: uv says what fails there itself)."""
    from anyvenv.fs.outcome import REWRITES_WORK
    from anyvenv.project.envchoice import probed_at

    probed = probed_at(directory or ".")
    if probed is None or probed.rewrites == REWRITES_WORK:
        return None
    return probed.why_rewrites_fail or "its writes fail"


def _on_copy(words: Sequence[str], copy: str) -> list[str]:
    """``words`` with the value of ``--script`` replaced by ``copy`` (absolute, so that
    ``--directory`` does not move it)."""
    result: list[str] = []
    value_next = False
    for word in words:
        if value_next:
            result.append(copy)
        elif word.startswith("--script="):
            result.append("--script=" + copy)
        else:
            result.append(word)
        value_next = word == "--script"
    return result


def _cannot_edit(script: str, why: str, reason: str) -> CannotEditHere:
    from anyvenv.errors import CannotEditHere

    return CannotEditHere(
        f"uv cannot rewrite {script} or its lock on its filesystem, as {why}, and the script "
        f"cannot be edited through a copy: {reason}",
        "edit its '# /// script' block by hand, or edit and lock it on a local disk and copy "
        "both back",
    )
