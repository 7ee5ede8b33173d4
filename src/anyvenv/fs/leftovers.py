"""What anyvenv leaves beside a target while it works, and clearing what killed runs left.

Names of leftovers say who made them (``.NAME.anyvenv-staging-HOST-PID-RAND``, temp files
``.NAME.anyvenv-tmp-HOST-PID-RAND``), so the next run can clear those whose maker is gone
(on this host: a process of another host is never judged by its pid). A target filled file
by file holds a marker meanwhile (``.anyvenv-moving-HOST-PID-RAND``), so that what a killed
fill leaves is known for anyvenv's, never taken for the user's own directory.
"""

from __future__ import annotations

import os

from anyvenv.fs import CFG_NAME
from anyvenv.fs.place import write_all
from anyvenv.fs.processes import process_alive
from anyvenv.fs.remove import remove_tree, remove_tree_quietly
from anyvenv.killpoints import checkpoint
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from anyvenv.errors import UsageError

MARK = ".anyvenv-"  # every staging and retired directory: ".<target name>.anyvenv-..."
STAGING_MARK = MARK + "staging-"
RETIRED_MARK = MARK + "old-"
REMOVING_MARK = MARK + "removing-"  # on its way out: cleared, never put back
MOVING_MARK = MARK + "moving-"  # inside a target filled file by file (see mark_moving)
HELD_MARK = MARK + "held-"  # inside it too: the old files a running program still holds
TEMP_MARK = ".anyvenv-tmp-"


def leftover_tag() -> str:
    """``HOST-PID-RAND``: ends the name of anything left behind, so it can be cleared later."""
    return f"{this_host()}-{os.getpid()}-{os.urandom(3).hex()}"


# what a leftover's name adds to its target's (".", a mark, HOST-PID-RAND) must fit in
# NAME_MAX (255 bytes) with the target's name part
LONGEST_STEM = 180
# HOST-PID-RAND at its longest: a host of 24 bytes and a pid namespace of 6 digits
# (this_host), a pid of 7 digits (Linux's pid_max is 2**22 at most), 6 hex digits
HOST_PART = 24
LONGEST_TAG = HOST_PART + 1 + 6 + 1 + 7 + 1 + 6


def leftover_stem(name: str) -> str:
    """``.NAME``, the start of the names of what is left beside ``NAME``; a name too long to
    leave room for the rest is cut and ends with a checksum of the whole, so that two long
    names stay apart (:func:`~anyvenv.fs.fitted_name`)."""
    from anyvenv.fs import fitted_name

    return "." + fitted_name(name, LONGEST_STEM)


def beside_name(target: str | os.PathLike[str], mark: str) -> str:
    parent, name = os.path.split(os.fspath(target))
    return os.path.join(parent, f"{leftover_stem(name)}{mark}{leftover_tag()}")


def staging_name(target: str | os.PathLike[str]) -> str:
    return beside_name(target, STAGING_MARK)


def retired_name(target: str | os.PathLike[str]) -> str:
    return beside_name(target, RETIRED_MARK)


@record
class Leftover:
    path: str
    host: str
    pid: int
    kind: str  # "staging" or "retired"


def parse_leftover(
    target: str | os.PathLike[str], entry: str | os.PathLike[str]
) -> Leftover | None:
    """A staging or retired directory of ``target``, with its maker; ``None`` if not ours."""
    prefix = leftover_stem(os.path.basename(os.fspath(target)))
    entry = os.fspath(entry)
    name = os.path.basename(entry)
    for mark, kind in ((STAGING_MARK, "staging"), (RETIRED_MARK, "retired")):
        if name.startswith(prefix + mark):
            parts = name[len(prefix + mark) :].rsplit("-", 2)
            if len(parts) == 3 and parts[1].isdigit():
                return Leftover(entry, parts[0], int(parts[1]), kind)
    return None


_HOST: list[str] = []


def this_host() -> str:
    """The host part of leftover names: the host name and, after a dot, this pid namespace
    (a container with the same host name has other pids: its live leftovers are not ours to
    judge by pid)."""
    return _hosts()[0]


def is_this_host(host: str) -> bool:
    """Whether the host part ``host`` of a leftover's name is this host's: as this release
    writes it, or as earlier ones did (the node name cut at 24 characters), so that
    what a killed run of one left is still cleared by the next."""
    return host in _hosts()


def _hosts() -> list[str]:
    if not _HOST:
        # os.uname, not socket.gethostname: importing socket costs start-up time
        nodename = os.uname().nodename
        earlier = nodename.replace("-", "_").replace("/", "_")[:24] or "host"
        try:
            namespace = "".join(c for c in os.readlink("/proc/self/ns/pid") if c.isdigit())
        except OSError:
            namespace = ""
        for name in (_host_name(nodename), earlier):
            _HOST.append(f"{name}.{namespace[-6:]}" if namespace else name)
    return _HOST


def _host_name(nodename: str) -> str:
    """``nodename`` as a part of a name every filesystem takes: ASCII letters, digits, ``_``
    and ``.``, 24 bytes at most (``-`` separates the tag's parts: it becomes ``_``). A name
    that needed more than that (other characters, more length) is cut and ends with ``~`` and
    a checksum of the whole, so that two such hosts stay apart."""
    name = nodename.replace("-", "_")
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "_.") else "_" for c in name)
    if safe == name and 0 < len(name) <= HOST_PART:
        return name
    if not nodename:
        return "host"
    import zlib

    check = f"~{zlib.crc32(os.fsencode(nodename)):08x}"
    return safe[: HOST_PART - len(check)] + check


def leftovers_of(target: str | os.PathLike[str], names: list[str] | None = None) -> list[Leftover]:
    """The staging and retired directories beside ``target`` (``names``: its parent's
    entries, when the caller has listed them already)."""
    parent = os.path.dirname(os.fspath(target))
    if names is None:
        try:
            names = os.listdir(parent or ".")
        except OSError:
            return []
    prefix = leftover_stem(os.path.basename(os.fspath(target))) + MARK  # only names like ours
    found = (
        parse_leftover(target, os.path.join(parent, name))
        for name in names
        if name.startswith(prefix)
    )
    return [item for item in found if item is not None]


def maker_is_gone(tail: str) -> bool:
    """Whether ``HOST-PID-RAND[...]`` names a process of this host that no longer runs."""
    parts = tail.split("-")
    if len(parts) < 3 or not parts[1].isdigit():
        return False
    return is_this_host(parts[0]) and not process_alive(int(parts[1]))


def sweep_dead(directory: str | os.PathLike[str], mark: str, prefix: str = "") -> list[str]:
    """Remove the entries of ``directory`` named ``...MARK HOST-PID-RAND...`` (and starting
    with ``prefix``) whose maker (on this host) is gone: temp files of :func:`atomic_write`,
    probe directories."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return _sweep_names(directory, names, mark, prefix)


def dead_leftovers(
    directory: str | os.PathLike[str], names: list[str], mark: str, prefix: str = ""
) -> list[str]:
    """The paths among ``names`` that :func:`sweep_dead` would remove (nothing is removed)."""
    found: list[str] = []
    for name in names:
        # leftovers' names start with a dot (or the prefix asked for, as the temp dir's
        # copies do); others are someone's (an env named "x.anyvenv-old-host-1-a")
        if not name.startswith(prefix or "."):
            continue
        _, hit, tail = name.partition(mark)
        if hit and name.startswith(prefix) and maker_is_gone(tail):
            found.append(os.path.join(directory, name))
    return found


def _sweep_names(
    directory: str | os.PathLike[str], names: list[str], mark: str, prefix: str = ""
) -> list[str]:
    from anyvenv.fs.bounded import beat  # (each a step, in a bounded probe's child)

    removed: list[str] = []
    for path in dead_leftovers(directory, names, mark, prefix):
        try:
            remove_tree(path)
        except OSError:
            continue
        finally:
            beat()
        removed.append(path)
    return removed


def remove_aside(path: str) -> None:
    """Remove a tree anyvenv made: first renamed aside (one rename, so its name holds all of
    it or nothing), then removed quietly; a kill leaves a leftover that :func:`sweep_dead`
    clears. A tree that cannot be renamed (overlayfs's lower layer) is removed where it is
    (:func:`remove_in_place`). Raises :class:`OSError` if the rename fails otherwise (then
    nothing changed), or if a removal in place fails part-way."""
    aside = set_aside(path)
    if aside is not None:
        remove_tree_quietly(aside)


def set_aside(path: str, last: tuple[str, ...] = ()) -> str | None:
    """The first half of :func:`remove_aside`: rename ``path`` to a removal name beside it and
    return that name, for a caller that must move it under a lock and remove it after.
    ``None`` where ``path`` is a directory that cannot be renamed
    (:func:`~anyvenv.fs.atomic.cannot_rename_tree`: overlayfs's lower layer): it is removed
    where it is, at once (:func:`remove_in_place`, ``last`` its entries to go last)."""
    aside = beside_name(path, REMOVING_MARK)  # not a retired name: recover would put it back
    try:
        os.rename(path, aside)
    except OSError as exc:
        from anyvenv.fs.atomic import cannot_rename_tree

        if not cannot_rename_tree(exc) or os.path.islink(path) or not os.path.isdir(path):
            raise
        remove_in_place(path, last)
        return None
    checkpoint("remove-aside:" + os.path.basename(path))
    return aside


def remove_in_place(path: str, last: tuple[str, ...] = ()) -> None:
    """Remove the directory ``path`` where it is, for one that cannot be renamed aside: it is
    marked as a fill file by file first (:func:`mark_moving`, listing its entries), then its
    ``pyvenv.cfg`` goes (from then on it is no env), then its other entries (those named in
    ``last`` after the rest), then the directory, marker and all. What a run killed part-way
    leaves is no env, and :func:`undo_cut_move` knows it for anyvenv's and removes it (the
    next ``venv``, ``sync`` or ``cache prune`` there), as what a killed commit by files
    leaves."""
    from anyvenv.fs.bounded import beat  # (each a step, in a bounded call's child)

    names = os.listdir(path)
    mark_moving(path, names)
    checkpoint("remove-in-place:marked")
    for name in sorted(names, key=lambda name: 0 if name == CFG_NAME else 2 if name in last else 1):
        remove_tree(os.path.join(path, name))
        checkpoint("remove-in-place:removed-entry")
        beat()
    remove_tree(path)


def recover(target: str | os.PathLike[str]) -> list[str]:
    """Undo what a killed run left beside ``target``; returns the paths removed or restored.

    Only leftovers made on this host by a process that is gone are touched. A retired copy
    of the old target is put back when the target itself is missing (the crash fell between
    the two renames of :func:`commit`), otherwise removed. Dead temp files of
    :func:`atomic_write` beside it are removed too, and a target a killed commit was filling
    file by file (its staging tree is still beside then) is undone (:func:`undo_cut_move`).
    """
    parent = os.path.dirname(os.fspath(target)) or "."
    try:
        names = os.listdir(parent)  # once, for both kinds of leftovers (a round trip on a share)
    except OSError:
        return []
    touched = _sweep_names(parent, names, TEMP_MARK)
    dead = [
        item
        for item in leftovers_of(target, names)
        if is_this_host(item.host) and not process_alive(item.pid)
    ]
    if any(item.kind == "staging" for item in dead):  # (a fill file by file keeps it beside)
        touched += undo_cut_move(target)
    for item in dead:
        try:
            if item.kind == "retired" and not os.path.lexists(target):
                os.rename(item.path, target)
            else:
                remove_tree(item.path)
        except OSError:
            continue  # (files the user may not remove: left for a later run, or for them)
        touched.append(item.path)
    return touched


_MOVING_FORMAT = "anyvenv-moving 1"


def mark_moving(target: str, names: list[str]) -> str:
    """Create in ``target`` (a directory) the marker of a fill file by file by this process,
    listing ``names``: every top-level name the target may hold meanwhile (the old tree's and
    the new one's). Returns its path, for the caller to remove once the fill is done. A run
    killed in between leaves it, and :func:`undo_cut_move` removes what it marks, and only
    a directory that holds nothing else."""
    path = os.path.join(target, MOVING_MARK + leftover_tag())
    text = "\n".join([_MOVING_FORMAT, *sorted(set(names)), ""])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        write_all(fd, text.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)
    return path


@record
class CutMove:
    """A marker of :func:`mark_moving` found in a directory: a fill file by file that is
    under way, or was cut short."""

    marker: str
    host: str
    pid: int
    gone: bool  # its maker, on this host, no longer runs
    complete: bool  # the directory holds pyvenv.cfg: an env untouched yet, or whole again
    only_listed: bool  # the directory holds nothing the marker does not list


def cut_move(target: str | os.PathLike[str], names: list[str] | None = None) -> CutMove | None:
    """The marker of a fill file by file in ``target`` (``names``: its entries, when the
    caller has listed them already), or ``None`` where there is none, or where it is not
    one anyvenv wrote."""
    directory = os.fspath(target)
    try:
        names = os.listdir(directory) if names is None else names
    except OSError:
        return None
    for name in names:
        parts = name[len(MOVING_MARK) :].split("-") if name.startswith(MOVING_MARK) else []
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        marker = os.path.join(directory, name)
        listed = _listed_names(marker)
        if listed is None:
            continue  # not a marker we wrote: the directory is not taken for ours
        others = {each for each in names if not each.startswith(MOVING_MARK)}
        return CutMove(
            marker,
            parts[0],
            int(parts[1]),
            gone=maker_is_gone(name[len(MOVING_MARK) :]),
            complete=CFG_NAME in names,
            only_listed=others <= listed,
        )
    return None


def _listed_names(marker: str) -> set[str] | None:
    """The names a marker lists; ``None`` if it is not a regular file in our format."""
    try:
        fd = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 1 << 16)
    except OSError:
        return None
    finally:
        os.close(fd)
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    if lines[0] != _MOVING_FORMAT:
        return None
    return {name for name in lines[1:] if name}


def undo_cut_move(target: str | os.PathLike[str], names: list[str] | None = None) -> list[str]:
    """Clear what a killed fill file by file left in ``target``; returns the paths removed.

    With ``pyvenv.cfg`` there, the old env was untouched yet, or the new one whole: only the
    marker goes. Without it, neither tree is whole (the old one was being emptied, the new
    one moved in): the directory goes, as a killed commit elsewhere leaves nothing of its new
    tree; but only where its maker is gone and it holds nothing the marker does not list.
    """
    found = cut_move(target, names)
    if found is None or not found.gone:
        return []
    try:
        if found.complete:
            os.unlink(found.marker)
            return [found.marker]
        if not found.only_listed:
            return []
        remove_tree(target)
    except OSError:
        return []  # (left for a later run, or for the user)
    return [os.fspath(target)]


def cut_move_error(text: str, found: CutMove) -> UsageError:
    """Why the directory ``text`` (holding ``found``, and no ``pyvenv.cfg``) is no env yet,
    and what makes it one: in one line, not the "no pyvenv.cfg" a user cannot act on."""
    from anyvenv.errors import UsageError

    where = "" if is_this_host(found.host) else f" on {found.host}"
    if found.gone and found.only_listed:
        return UsageError(
            f"{text} is not a virtual environment: an anyvenv run (process {found.pid}) was "
            "killed while moving one into place file by file, and this is what it left",
            "'anyvenv venv' (or 'anyvenv sync' in its project) removes it and makes the "
            "environment again",
        )
    if found.gone:
        return UsageError(
            f"{text} is not a virtual environment: an anyvenv run (process {found.pid}) was "
            "killed while moving one into place file by file, and other files were put in it "
            "since",
            "move your files out of it and remove it, then make the environment again",
        )
    return UsageError(
        f"{text} is not a virtual environment yet: anyvenv{where} (process {found.pid}) is "
        "moving one into place file by file",
        "wait for that run to end (if it was killed, remove the directory yourself)",
    )


class scratch_dir:
    """``with scratch_dir(purpose, mark) as path:`` a new directory of this process's own in
    the temporary directory (:func:`~anyvenv.fs.paths.temp_parent`), named ``MARK`` then
    ``HOST-PID-RAND``, removed on leaving; the ones of killed runs are swept first."""

    def __init__(self, purpose: str, mark: str) -> None:
        self.purpose = purpose
        self.mark = mark
        self.path = ""

    def __enter__(self) -> str:
        from anyvenv.fs.paths import temp_parent

        parent = temp_parent(self.purpose)
        sweep_dead(parent, self.mark, prefix=self.mark)
        self.path = os.path.join(parent, self.mark + leftover_tag())
        os.mkdir(self.path, 0o700)
        return self.path

    def __exit__(self, *exc: object) -> None:
        remove_tree_quietly(self.path)
