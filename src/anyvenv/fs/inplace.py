"""Filling a directory that must stay the same directory, with a journal.

Some targets cannot be renamed over: a mount point (a Docker volume at ``/app/.venv``:
EBUSY), the working directory of the shell that asked (``anyvenv venv .``), a directory
whose owner and mode the user chose. There the new tree is built in a staging directory
*inside* the target (``.anyvenv-staging-TAG``, on the target's own filesystem), and its
entries are moved up one by one, ``pyvenv.cfg`` last. What was there before (an env being
replaced) is first moved into ``.anyvenv-old-TAG``.

The journal ``.anyvenv-fill-TAG`` (written before anything moves) names the phase and the
new entries, so the next run can finish or undo the work of a run that was killed
(:func:`recover_inside`):

- phase ``old`` (the old entries are being moved aside): they are moved back;
- phase ``new`` (the new entries are being moved up): with the new ``pyvenv.cfg`` in place
  the fill was complete and only the rest is cleared; otherwise the new entries are removed
  and the old ones moved back.

Every top-level name that is not anyvenv's own (no ``.anyvenv-`` in it) counts as an entry
of the old tree. TAG is ``HOST-PID-RAND``: only a fill whose maker is gone is recovered. A
fill that fails part-way (a full disk) is undone at once, the same way.

An old directory that cannot be renamed (EXDEV: overlayfs's lower layer, a container
image's) moves aside file by file, into ``.anyvenv-part-NAME`` in the old tree's directory,
which takes the name ``NAME`` once the old directory is gone: an undo merges a part back.
"""

from __future__ import annotations

import os
import stat

from anyvenv.fs import CFG_NAME
from anyvenv.fs.atomic import (
    atomic_write,
    cannot_rename_tree,
    directory_rename_keeps_contents,
    move_files,
    move_tree_by_files,
)
from anyvenv.fs.leftovers import (
    MARK,
    STAGING_MARK,
    TEMP_MARK,
    dead_leftovers,
    maker_is_gone,
    staging_name,
    sweep_dead,
)
from anyvenv.fs.place import sync_directory
from anyvenv.fs.remove import remove_tree, remove_tree_quietly
from anyvenv.killpoints import checkpoint
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Iterator

    from anyvenv.errors import UsageError

JOURNAL_MARK = MARK + "fill-"
OLD_MARK = MARK + "old-"
PART_MARK = MARK + "part-"  # in the old tree's directory: a directory moved aside by files
_FORMAT = "anyvenv-fill 1"


def keeps_identity(target: str, names: list[str] | None = None) -> bool:
    """Whether ``target`` (an existing directory) must be filled in place rather than replaced
    by a rename: it is a mount point, it holds the working directory, or it is empty (as uv,
    which fills an existing directory and so keeps its owner and mode). ``names``: its
    entries, when the caller has listed them already (a round trip on a share)."""
    if os.path.ismount(target):
        return True
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:
        cwd = ""
    real = os.path.realpath(target)
    if cwd == real or cwd.startswith(real.rstrip(os.sep) + os.sep):
        return True
    try:
        entries = os.listdir(target) if names is None else names
    except OSError:
        return False
    return not any(MARK not in name for name in entries)


def prune_if_only_directories(path: str, limit: int = 500) -> bool:
    """Remove the subdirectories of ``path`` when there is nothing else under it: no file, no
    link (what ``python -m venv`` leaves when it fails before its first file). Returns whether
    ``path`` is empty now. Only empty directories are removed (rmdir, deepest first), so
    nothing of the user's can go, even if a file appears meanwhile."""
    found: list[str] = []
    for root, subdirs, files in os.walk(path, onerror=_raise):
        if files or any(os.path.islink(os.path.join(root, name)) for name in subdirs):
            return False
        found.extend(os.path.join(root, name) for name in subdirs)
        if len(found) > limit:
            return False
    try:
        for directory in reversed(found):  # children before their parents
            os.rmdir(directory)
    except OSError:
        return False
    return True


def _raise(exc: OSError) -> None:
    raise exc


def remove_or_empty(path: str) -> None:
    """Remove an env anyvenv made, so that a kill leaves all of it in place or none: it is
    renamed aside first (under a staging name, which the next run's recover clears). One
    that must keep its identity (:func:`keeps_identity`: a mount point, the working
    directory) is emptied instead, as is one where a renamed directory loses its files
    (fusefat) or a tree removed under its new name comes back (rclone: on its remote, once
    it uploads the files): ``pyvenv.cfg`` last, so that what a kill leaves is still an env,
    replaced by the next run, never a bare ``bin/python`` that tools take for the base
    interpreter."""
    if os.path.islink(path) or not os.path.isdir(path):
        remove_tree(path)
        return
    identity = keeps_identity(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not identity and directory_rename_keeps_contents(parent):
        aside = staging_name(path)
        try:
            os.rename(path, aside)
        except OSError:
            pass  # (emptied in place below)
        else:
            checkpoint("remove-env:aside")
            remove_tree_quietly(aside)  # what a kill or a refusal leaves, recover clears
            return
    remove = remove_tree_quietly if identity else remove_tree
    for name in sorted(os.listdir(path), key=lambda name: (name == CFG_NAME, name)):
        if name == CFG_NAME and os.listdir(path) != [CFG_NAME]:
            return  # (what could not be removed stays in an env, which the next run replaces)
        remove(os.path.join(path, name))
        checkpoint("remove-env:" + name)
    if not identity:
        os.rmdir(path)


def _tail(staging: str) -> str:
    return os.path.basename(staging)[len(STAGING_MARK) :]


def _old_entries(target: str) -> list[str]:
    return sorted(name for name in os.listdir(target) if MARK not in name)


def _new_entries(staging: str) -> list[str]:
    """The staging tree's entries in the order they are moved up: ``pyvenv.cfg`` last."""
    return sorted(os.listdir(staging), key=lambda name: (name == CFG_NAME, name))


def _write_journal(journal: str, phase: str, names: list[str]) -> None:
    """Written whole and on disk (its directory's entry too) before anything moves: a crash
    must leave a journal the next run can read, saying the phase it was in."""
    atomic_write(journal, "\n".join([_FORMAT, phase, *names, ""]).encode(), durable=True)


def _move(source: str, destination: str, keeps_contents: bool) -> None:
    if keeps_contents or os.path.islink(source) or not os.path.isdir(source):
        os.rename(source, destination)
    else:  # fusefat: a renamed directory loses its files
        move_tree_by_files(source, destination)


def _move_aside(source: str, destination: str, keeps_contents: bool) -> None:
    """:func:`_move` of an old entry into the old tree's directory. A directory that cannot
    be renamed (:func:`~anyvenv.fs.atomic.cannot_rename_tree`) moves file by file into its
    part (``PART_MARK`` and its name), its emptied directories are removed, and then the part
    takes its name: a fill cut short before that leaves a part for :func:`_undo` to merge
    back."""
    try:
        _move(source, destination, keeps_contents)
    except OSError as exc:
        if not cannot_rename_tree(exc) or not _real_directory(source):
            raise
        parent, name = os.path.split(destination)
        part = os.path.join(parent, PART_MARK + name)
        move_files(source, part)
        checkpoint("fill:part-moved:" + name)
        remove_tree(source)  # (its directories, emptied)
        checkpoint("fill:part-emptied:" + name)
        os.rename(part, destination)  # (made here: it renames)


def fill(staging: str, target: str) -> None:
    """Move the tree built in ``staging`` (a staging directory inside ``target``) up into
    ``target``, replacing what is there; a kill at any point is undone or finished by the
    next :func:`recover_inside`, a failure part-way (an OSError) at once."""
    tail = _tail(staging)
    journal = os.path.join(target, JOURNAL_MARK + tail)
    old_dir = os.path.join(target, OLD_MARK + tail)
    keeps_contents = directory_rename_keeps_contents(target)
    new = _new_entries(staging)
    old = _old_entries(target)
    phase = "old"
    try:
        if old:
            _write_journal(journal, "old", new)
            checkpoint("fill:journal")
            os.mkdir(old_dir, 0o700)
            for name in old:
                _move_aside(os.path.join(target, name), os.path.join(old_dir, name), keeps_contents)
                checkpoint("fill:aside:" + name)
        _write_journal(journal, "new", new)
        phase = "new"
        checkpoint("fill:journal-new")
        for name in new:
            _move(os.path.join(staging, name), os.path.join(target, name), keeps_contents)
            checkpoint("fill:moved:" + name)
    except OSError:
        _finish_or_undo(target, phase, new, old_dir, journal, staging)
        raise
    sync_directory(target)  # (the moves on disk before the journal that would undo them goes)
    _clear(staging, old_dir, journal)


def _finish_or_undo(
    target: str, phase: str, new: list[str], old_dir: str, journal: str, staging: str
) -> None:
    """What :func:`recover_inside` does for a fill that was killed, at once, for one of this
    process that failed part-way: nothing half-made stays. Where that fails too, the journal
    stays, for the next run."""
    from anyvenv.errors import AnyvenvError

    try:
        if phase == "old" or not os.path.lexists(os.path.join(target, CFG_NAME)):
            _undo(target, phase, new, old_dir, journal, staging)
        _clear(staging, old_dir, journal)
    except (OSError, AnyvenvError):
        pass


def _clear(staging: str, old_dir: str, journal: str) -> None:
    """The end of a fill, finished or undone: staging and the old tree go, the journal last."""
    for path in (staging, old_dir):
        try:
            remove_tree(path)
        except OSError:
            pass
    checkpoint("fill:cleared")
    try:
        os.unlink(journal)
    except FileNotFoundError:
        pass


def _read_journal(journal: str) -> tuple[str, list[str]] | None:
    try:
        with open(journal, encoding="utf-8") as stream:
            lines = stream.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if len(lines) < 3 or lines[0] != _FORMAT or lines[1] not in ("old", "new"):
        return None
    names = [name for name in lines[2:] if name]
    if not all(_entry_name(name) for name in names):
        return None  # not one a fill wrote: names that lead out of the directory are never undone
    return lines[1], names


def _entry_name(name: str) -> bool:
    """Whether ``name`` names an entry of a directory, and nothing above or below it."""
    return name not in (".", "..") and "/" not in name and "\0" not in name


def recover_inside(target: str) -> list[str]:
    """Finish or undo the fills of ``target`` whose maker (on this host) is gone; clear their
    staging directories. Returns the journals handled."""
    try:
        names = os.listdir(target)
    except OSError:
        return []
    if not any(name.startswith(_FILL_NAMES) for name in names):
        return []  # (nothing a fill leaves: one listing, as sync asks on every run)
    handled: list[str] = []
    for _, journal, old_dir, staging in _dead_fills(target, names):
        read = _read_journal(journal)
        if read is None:  # not a journal we can read: nothing is done by it, and we stop
            raise _unreadable_journal(target, journal, old_dir, staging)
        phase, new = read
        # pyvenv.cfg is moved up last: in phase "new", with it in place the fill was complete
        if phase == "old" or not os.path.lexists(os.path.join(target, CFG_NAME)):
            _undo(target, phase, new, old_dir, journal, staging)
        _clear(staging, old_dir, journal)
        handled.append(journal)
    # temp files of journal writes, and staging directories of runs killed before a fill
    # began (one with a journal left unread above stays with it)
    sweep_dead(target, TEMP_MARK, prefix="." + JOURNAL_MARK)
    journals = {
        name[len(JOURNAL_MARK) :] for name in os.listdir(target) if name.startswith(JOURNAL_MARK)
    }
    for leftover in dead_leftovers(target, names, STAGING_MARK, prefix=STAGING_MARK):
        if os.path.basename(leftover)[len(STAGING_MARK) :] not in journals:
            remove_tree(leftover)
    return handled


_FILL_NAMES = (JOURNAL_MARK, "." + JOURNAL_MARK, STAGING_MARK)  # (".": a journal's temp file)


def _dead_fills(target: str, names: list[str]) -> Iterator[tuple[str, str, str, str]]:
    """The fills of ``target`` (``names``: its entries) whose maker (on this host) is gone:
    for each, its ``HOST-PID-RAND`` tail, its journal, the old tree's directory and its
    staging directory."""
    for name in names:
        tail = name[len(JOURNAL_MARK) :]
        if not name.startswith(JOURNAL_MARK) or MARK in tail or not maker_is_gone(tail):
            continue  # (a temp file of the journal's atomic write has a second mark)
        yield (
            tail,
            os.path.join(target, name),
            os.path.join(target, OLD_MARK + tail),
            os.path.join(target, STAGING_MARK + tail),
        )


@record
class CutFill:
    """A fill of a directory whose maker (on this host) is gone, as :func:`recover_inside`
    finds it: what it would do, and the words for a user who has not run it yet."""

    journal: str
    pid: int
    phase: str | None  # "old" or "new"; None where the journal cannot be read
    finishes: bool  # nothing is undone: the new env is whole (phase "new", pyvenv.cfg in
    # place), or nothing was moved yet (phase "old", the old tree's directory empty or not
    # made); only what the fill left beside the env is cleared
    restores: bool  # an undo puts an old env back (its directory holds entries)
    what: str  # what was left, in a clause
    fix: str  # what finishes or undoes it
    cleared: str  # what recovering it removes (``finishes``) or puts back, as a noun phrase


def cut_fills(target: str) -> list[CutFill]:
    """The fills of ``target`` that a killed run left, which :func:`recover_inside` would
    finish or undo (nothing is changed)."""
    try:
        names = os.listdir(target)
    except OSError:
        return []
    found: list[CutFill] = []
    for tail, journal, old_dir, staging in _dead_fills(target, names):
        pid = int(tail.split("-")[1])
        read = _read_journal(journal)
        if read is None:
            refused = _unreadable_journal(target, journal, old_dir, staging)
            what, fix = refused.message, refused.hint or ""
            found.append(CutFill(journal, pid, None, False, False, what, fix, ""))
            continue
        phase = read[0]
        held = _holds_entries(old_dir)
        if phase == "old" and not held:  # (killed before its first move aside)
            words = _untouched_words(target, pid, journal, old_dir, staging)
            found.append(CutFill(journal, pid, phase, True, False, *words))
            continue
        whole = phase == "new" and os.path.lexists(os.path.join(target, CFG_NAME))
        what, fix = _cut_fill_words(target, phase, whole, old_dir, held, pid)
        if whole:
            left = [old_dir] if os.path.lexists(old_dir) else []
            cleared = (
                "what a fill killed once the new environment was whole left beside it ("
                + _named([*left, journal], old_dir)
                + ")"
            )
        else:
            named = os.path.basename(journal)
            cleared = f"the environment a killed fill was replacing (its journal {named})"
        found.append(CutFill(journal, pid, phase, whole, held and not whole, what, fix, cleared))
    return found


def _holds_entries(directory: str) -> bool:
    """Whether ``directory`` is a directory (not a link to one) with anything in it."""
    if not _real_directory(directory):
        return False
    try:
        return bool(os.listdir(directory))
    except OSError:
        return True  # (cannot tell: taken as holding the old env, which is never left out)


def _named(paths: list[str], old_dir: str) -> str:
    """``the old environment in X, its journal J``: the leftovers ``paths``, named."""
    said = []
    for path in paths:
        name = os.path.basename(path)
        if path == old_dir:
            said.append(f"the old environment in {name}")
        elif name.startswith(JOURNAL_MARK):
            said.append(f"its journal {name}")
        else:
            said.append(f"its staging directory {name}")
    return ", ".join(said)


def _untouched_words(
    target: str, pid: int, journal: str, old_dir: str, staging: str
) -> tuple[str, str, str]:
    """What a fill killed before it moved anything aside left: its journal (and staging
    directory, and an empty old tree's directory) beside the env, which is as it was."""
    left = [path for path in (journal, staging, old_dir) if os.path.lexists(path)]
    names = ", ".join(os.path.basename(path) for path in left)
    are = "is" if len(left) == 1 else "are"
    return (
        f"an anyvenv run (process {pid}) filling {target} in place was killed before it "
        f"moved anything: the environment there is as it was, and only what the fill made "
        f"beside it ({names}) {are} left",
        f"'anyvenv repair {target}' removes {'it' if len(left) == 1 else 'them'} (so does the "
        "next 'anyvenv venv' or 'anyvenv sync' there)",
        "what a fill killed before it moved anything left beside the environment ("
        + _named(left, old_dir)
        + ")",
    )


def _cut_fill_words(
    target: str, phase: str, whole: bool, old_dir: str, held: bool, pid: int
) -> tuple[str, str]:
    killed = f"an anyvenv run (process {pid}) filling {target} in place was killed"
    old_name = os.path.basename(old_dir)
    if whole:
        left = (
            f"the old environment in {old_name} and the fill's journal are"
            if os.path.lexists(old_dir)
            else "the fill's journal is"
        )
        return (
            f"{killed} once the new environment was whole; {left} left",
            f"'anyvenv repair {target}' removes what it left (so does the next 'anyvenv venv' "
            "or 'anyvenv sync' there)",
        )
    if phase == "old":
        moving = f"while it moved the old environment aside (part of it is in {old_name})"
    else:
        moving = "while it moved the new environment in"
        moving += f" (the old one is in {old_name})" if held else ""
    if not held:
        return (
            f"{killed} {moving}: it holds part of an environment",
            "run the stopped command again ('anyvenv venv', or 'anyvenv sync' in its project): "
            "it clears what the fill left and makes the environment",
        )
    return (
        f"{killed} {moving}",
        f"'anyvenv repair {target}' puts the old environment back (so does running the "
        "stopped command again, which then goes on)",
    )


def _unreadable_journal(target: str, journal: str, old_dir: str, staging: str) -> UsageError:
    """The error for a fill journal whose maker is gone and that cannot be read (emptied by a
    crash, or not anyvenv's): what it left in ``target`` and what to do, nothing done."""
    from anyvenv.errors import UsageError

    old, new = os.path.lexists(old_dir), os.path.lexists(staging)
    said = f"; the environment it replaced is kept in {os.path.basename(old_dir)}" if old else ""
    if new:
        said += f"; the new one's entries not yet moved are in {os.path.basename(staging)}"
    return UsageError(
        f"a fill of {target} was cut short and its journal cannot be read, so it is neither "
        f"finished nor undone{said}",
        _cut_short_fix(target, journal, old_dir, staging),
    )


def _cut_short_fix(target: str, journal: str, old_dir: str, staging: str) -> str:
    """What to do with what a fill cut short left in ``target`` that anyvenv will not act on:
    the old env's entries back (or the directory emptied), then its leftovers removed."""
    restore = (
        f"to keep the old environment move the entries of {os.path.basename(old_dir)} back "
        f"into {target} (replacing those of the same name), or to start afresh empty "
        f"{target}; then "
        if os.path.lexists(old_dir)
        else "look at what it holds; then "
    )
    left = [journal, *(path for path in (old_dir, staging) if os.path.lexists(path))]
    return f"{restore}remove {', '.join(os.path.basename(path) for path in left)} and run again"


def _undo(
    target: str, phase: str, new: list[str], old_dir: str, journal: str, staging: str
) -> None:
    """Put the old tree back: the new entries removed (phase ``new``), then each entry of
    ``old_dir`` moved back. Where a name to move back is taken by an entry the journal does
    not say is a new one (a journal that lost its last phase), nothing is done."""
    listed = os.listdir(old_dir) if _real_directory(old_dir) else []  # (a link is not followed)
    old = [name for name in listed if not name.startswith(PART_MARK)]
    parts = [name[len(PART_MARK) :] for name in listed if name.startswith(PART_MARK)]
    removable = set(new) if phase == "new" else set()  # (in "new", every old one was aside)
    keeps_contents = directory_rename_keeps_contents(target) if old else True
    taken = [
        name
        for name in old
        if name not in removable
        and _exists(target, name)
        and not (not keeps_contents and _half_moved(target, old_dir, name))
    ]
    taken += [  # (a part's directory, or what is left of it, is merged into)
        name
        for name in parts
        if name not in removable
        and _exists(target, name)
        and not _real_directory(os.path.join(target, name))
    ]
    if taken:
        raise _undo_conflict(target, taken, old_dir, journal, staging)
    for name in removable:
        remove_tree(os.path.join(target, name))
    for name in old:
        _move(os.path.join(old_dir, name), os.path.join(target, name), keeps_contents)
    for name in parts:
        move_tree_by_files(os.path.join(old_dir, PART_MARK + name), os.path.join(target, name))


def _half_moved(target: str, old_dir: str, name: str) -> bool:
    """Whether ``name`` is a directory both in ``target`` and in ``old_dir``: where a directory
    is moved file by file (fusefat), one whose move aside was cut short; moved back by the
    same merge, not taken for another entry in the way."""
    return _real_directory(os.path.join(target, name)) and _real_directory(
        os.path.join(old_dir, name)
    )


def _exists(directory: str, name: str) -> bool:
    return os.path.lexists(os.path.join(directory, name))


def _undo_conflict(
    target: str, taken: list[str], old_dir: str, journal: str, staging: str
) -> UsageError:
    from anyvenv.errors import UsageError

    aside = os.path.basename(old_dir)
    return UsageError(
        f"a fill of {target} was cut short and cannot be undone: {', '.join(sorted(taken))} "
        f"{'is' if len(taken) == 1 else 'are'} both there and in {aside}, which holds the "
        "environment it replaced; nothing was moved",
        _cut_short_fix(target, journal, old_dir, staging),
    )


def _real_directory(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
