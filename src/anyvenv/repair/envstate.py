"""What an environment holds on disk, read without trusting links: its config, which tool
made it, and the state of each interpreter entry in bin/ (file, link, unreadable link...)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from anyvenv.errors import UsageError
from anyvenv.fs import CFG_NAME, is_virtual_environment
from anyvenv.fs.outcome import errno_name
from anyvenv.record import StrChoice, record

INTERPRETER_NAME = re.compile(r"^python(\d+(\.\d+t?)?)?$")


def conda_env(path: str | os.PathLike[str]) -> bool:
    """A conda environment (its ``conda-meta/``, which conda, mamba and pixi write)."""
    return os.path.isdir(os.path.join(path, "conda-meta"))


def resolve_environment(path: str | os.PathLike[str]) -> Path:
    """The absolute env directory, or a :class:`UsageError` saying why ``path`` is not one."""
    text = os.fspath(path)
    if not text:
        raise UsageError("the environment path is empty", "pass a path, or none for .venv")
    env = Path(os.path.abspath(text))
    if not os.path.lexists(env):
        from anyvenv.fs.paths import why_not_found

        raise UsageError(
            f"{text} {why_not_found(env)}",
            "pass the directory of a virtual environment (default: .venv)",
        )
    if not env.is_dir():
        if env.is_symlink():
            raise UsageError(
                f"{text} is a symlink that does not lead to a directory",
                "pass the environment's real directory",
            )
        pointed = _pointed_environment(env)
        hint = (
            f"it names the environment {pointed} (uv's project env pointer): pass that path"
            if pointed is not None
            else "pass the directory of a virtual environment (the one holding pyvenv.cfg and bin/)"
        )
        raise UsageError(f"{text} is a file, not an environment directory", hint)
    refuse_unreadable(env)
    if not os.path.lexists(env / CFG_NAME):
        from anyvenv.envbuild.config import abandoned_env

        if abandoned_env(env):  # (plain uv venv or uv sync failed there: ENOSYS, EOPNOTSUPP)
            raise UsageError(
                f"{text} is not a virtual environment: it is what uv left of one it could not "
                "make (no pyvenv.cfg, empty directories)",
                "make it with 'anyvenv sync' in a project, else 'anyvenv venv' (either takes "
                "its place)",
            )
        if conda_env(env):
            raise UsageError(
                f"{text} is a conda environment (conda-meta/), not a virtual environment: "
                "anyvenv does not manage conda environments",
                "use conda for it, or pass the directory of a virtual environment (the one "
                "holding pyvenv.cfg and bin/)",
            )
        from anyvenv.fs.inplace import cut_fills

        for fill in cut_fills(os.fspath(env)):  # (killed while filling it in place)
            raise UsageError(f"{text} is not a virtual environment now: {fill.what}", fill.fix)
        from anyvenv.fs.leftovers import cut_move, cut_move_error

        moving = cut_move(env)
        if moving is not None:  # (an anyvenv filling it file by file, or killed doing so)
            raise cut_move_error(text, moving)
        raise UsageError(
            f"{text} is not a virtual environment: it has no {CFG_NAME}",
            "pass the directory of a virtual environment (the one holding pyvenv.cfg and bin/)",
        )
    from anyvenv.envbuild.config import made_on_windows

    windows = made_on_windows(env)
    if windows is not None:
        from anyvenv.errors import MadeOnWindows

        raise MadeOnWindows(
            f"{text} was made on Windows ({windows}): its python cannot run here, and "
            "nothing of it is changed",
            "'anyvenv sync' in its project (else 'anyvenv venv --clear') makes one for this "
            "system in its place, as uv does; to keep it for Windows, give this system's env "
            "another path (UV_PROJECT_ENVIRONMENT)",
        )
    return env


def refuse_unreadable(env: Path) -> None:
    """An error when this user may not read the env, its ``bin`` or its pyvenv.cfg (another
    user's env made with umask 077): what cannot be read must not be called missing, nor
    the env broken and to be recreated."""
    from anyvenv.errors import AnyvenvError
    from anyvenv.fs.remove import owner_name, ownership

    for path in (env, env / "bin"):
        if os.access(path, os.R_OK | os.X_OK) or (path != env and not os.path.isdir(path)):
            continue
        raise AnyvenvError(
            f"cannot read {path}: you may not list or enter it ({ownership(path)})",
            "run this as its owner, or ask them to make it readable",
        )
    cfg = env / CFG_NAME
    if os.path.isfile(cfg) and not os.access(cfg, os.R_OK):
        raise AnyvenvError(
            f"cannot read {cfg}: you may not read it (owned by {owner_name(cfg)})",
            "run this as its owner, or ask them to make it readable",
        )


@record
class OutOfReach:
    """A base interpreter this user cannot reach, though it may well be there: ``what`` leads
    to it (the env's link, or its pyvenv.cfg's ``home``), past ``blocked``, a directory on
    the way they may not enter (another user's home at 0750, a pyenv root closed to them)."""

    what: str
    blocked: str

    def reason(self) -> str:
        """``its python links to X, which you cannot reach (you may not enter D, owned by
        A, mode 0750)``."""
        from anyvenv.fs.remove import ownership

        try:
            whose = f", {ownership(self.blocked)}"
        except OSError:  # (gone meanwhile)
            whose = ""
        return f"{self.what}, which you cannot reach (you may not enter {self.blocked}{whose})"

    def let_in(self) -> str:
        """What lets this user in: their own directory opened again, or its owner asked."""
        from anyvenv.fs.remove import owner_name

        try:
            mine = os.lstat(self.blocked).st_uid == os.getuid()
            owner = owner_name(self.blocked)
        except OSError:
            mine, owner = False, "its owner"
        if mine:
            return f"make {self.blocked} enterable again (chmod u+x {self.blocked})"
        return f"ask {owner} to let you into {self.blocked}"


def base_out_of_reach(env: str | os.PathLike[str]) -> OutOfReach | None:
    """Where this user cannot reach the base interpreter of ``env``: its ``bin/python`` links
    into, or its pyvenv.cfg's ``home`` lies under, a directory they may not enter. Such a base
    is not gone (it may well be there, the env its owner's and whole): the env is not theirs to
    replace or rewrite onto another Python, as uv refuses it ("failed to canonicalize path",
    EACCES). ``None`` where nothing on the way is closed to them (root enters everything)."""
    from anyvenv.envbuild.config import read_pyvenv_cfg
    from anyvenv.errors import EnvironmentBroken
    from anyvenv.fs.paths import first_unenterable

    python = os.path.join(os.fspath(env), "bin", "python")
    target = python
    try:
        for _ in range(40):  # (a link past a closed directory is not a link to lstat)
            if not os.path.islink(target):
                break
            target = os.path.normpath(os.path.join(os.path.dirname(target), os.readlink(target)))
    except OSError:
        pass  # (a link that cannot be read back: said by what reads it)
    if target != python:
        blocked = first_unenterable(target)
        if blocked is not None:
            return OutOfReach(f"its python links to {target}", blocked)
    try:
        home = read_pyvenv_cfg(os.fspath(env)).get("home")
    except EnvironmentBroken:
        return None
    if home and os.path.isabs(home):
        blocked = first_unenterable(os.path.join(home, "."))  # (home itself counts)
        if blocked is not None:
            return OutOfReach(f"its base Python's directory {home} (pyvenv.cfg 'home')", blocked)
    return None


def _pointed_environment(file: Path) -> str | None:
    """The environment directory a pointer file names (uv's redirect form, or an earlier
    anyvenv's), read as ``anyvenv sync`` reads it."""
    from anyvenv.envbuild.pointerfile import read_pointer
    from anyvenv.errors import EnvironmentBroken

    try:
        pointed = read_pointer(os.fspath(file))
    except EnvironmentBroken:  # (names no absolute path)
        return None
    return pointed if pointed is not None and is_virtual_environment(pointed) else None


def made_by(cfg: dict[str, str]) -> str:
    """Which tool wrote the config: anyvenv, uv, virtualenv, venv, or unknown."""
    for key in ("anyvenv", "uv", "virtualenv"):
        if key in cfg:
            return f"{key} {cfg[key]}".strip()
    if "version" in cfg or "executable" in cfg or "command" in cfg:
        return "venv"
    return "unknown"


def site_versions(env: Path) -> list[tuple[int, int, bool]]:
    """(major, minor, free-threaded) of each ``lib/pythonX.Y[t]`` directory in the env."""
    found = []
    try:
        names = os.listdir(env / "lib")
    except OSError:
        return []
    for name in sorted(names):
        match = re.fullmatch(r"python(\d+)\.(\d+)(t?)", name)
        if match and (env / "lib" / name).is_dir():
            found.append((int(match.group(1)), int(match.group(2)), bool(match.group(3))))
    return found


class EntryKind(str, StrChoice):
    MISSING = "missing"
    FILE = "file"
    LINK = "link"
    OTHER = "other"


@record
class Entry:
    """One path as found, links not followed unless said so."""

    path: Path
    kind: EntryKind
    link_target: str | None = None  # what readlink returned
    readlink_error: str | None = None  # errno name when readlink failed
    stat_error: str | None = None  # errno name when following the entry failed
    executable: bool = False  # a regular file (followed) with an exec bit

    @property
    def unreadable_link(self) -> bool:
        return self.kind is EntryKind.LINK and self.readlink_error is not None

    @property
    def dangling_link(self) -> bool:
        return (
            self.kind is EntryKind.LINK
            and self.readlink_error is None
            and self.stat_error is not None
        )

    @property
    def usable(self) -> bool:
        """Leads to an executable regular file."""
        return (
            self.kind in (EntryKind.FILE, EntryKind.LINK)
            and self.stat_error is None
            and (self.executable)
        )


def inspect_entry(path: Path) -> Entry:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Entry(path, EntryKind.MISSING)
    except OSError as exc:
        return Entry(path, EntryKind.OTHER, stat_error=errno_name(exc.errno))
    kind = EntryKind.LINK if stat.S_ISLNK(st.st_mode) else EntryKind.FILE
    if kind is EntryKind.FILE and not stat.S_ISREG(st.st_mode):
        return Entry(path, EntryKind.OTHER)
    target = readlink_error = stat_error = None
    if kind is EntryKind.LINK:
        try:
            target = os.readlink(path)
        except OSError as exc:
            readlink_error = errno_name(exc.errno)
    executable = False
    try:
        followed = os.stat(path)
        executable = stat.S_ISREG(followed.st_mode) and bool(followed.st_mode & 0o111)
    except OSError as exc:
        stat_error = errno_name(exc.errno)
    return Entry(path, kind, target, readlink_error, stat_error, executable)


def interpreter_entries(env: Path, wanted: list[str], at_once: bool = False) -> list[Entry]:
    """The ``wanted`` names in bin/ plus any other ``python*`` interpreter name found there;
    ``at_once``: each looked at by a thread of its own (on a share that answers together)."""
    names = list(wanted)
    try:
        present = sorted(os.listdir(env / "bin"))
    except OSError:
        present = []
    names += [name for name in present if INTERPRETER_NAME.match(name) and name not in names]
    from anyvenv.fs.together import map_together

    paths = [env / "bin" / name for name in names]
    return map_together(inspect_entry, paths, len(paths) if at_once else 1)


def editable_files(env: Path) -> list[Path]:
    """The files of editable installs in ``env``'s site-packages that name a source
    directory: path files (``*.pth``), setuptools' ``__editable__*`` finders, and the
    ``direct_url.json`` of each distribution."""
    found: list[Path] = []
    for site in sorted(env.glob("lib/python*/site-packages")):
        for pattern in ("*.pth", "__editable__*.py", "*.dist-info/direct_url.json"):
            found += sorted(path for path in site.glob(pattern) if path.is_file())
    return found


def named_below(data: bytes, root: str) -> list[bytes]:
    """What follows ``root`` (``b""``, or ``/rest``) each time ``data`` names it or a path
    below it, up to a quote or the end of the line: ``/a/proj`` in ``/a/proj/src`` and
    ``"file:///a/proj"``, not in ``/a/project``."""
    pattern = re.escape(os.fsencode(root)) + rb"((?:/[^\"'\r\n]*)?)(?=[\"'\r\n]|$)"
    return [match.group(1) for match in re.finditer(pattern, data, re.M)]


def with_root_moved(data: bytes, old: str, new: str) -> bytes:
    """``data`` with each path at or below ``old`` (as :func:`named_below` finds them) made
    the same path below ``new``."""
    pattern = re.escape(os.fsencode(old)) + rb"(?=/|[\"'\r\n]|$)"
    replacement = os.fsencode(new)
    return re.sub(pattern, lambda _: replacement, data, flags=re.M)
