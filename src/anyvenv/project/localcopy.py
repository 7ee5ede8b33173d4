"""uv's rewrite of a project's files, made in a copy on local disk where uv cannot make it in
place, then put back by anyvenv.

Where chmod fails (FAT: ENOSYS), uv cannot replace uv.lock or pyproject.toml: it writes the
new bytes to a new file and copies the old file's mode onto it with fchmod, which fails.
Setting uv.lock aside lets uv write a new one, but uv then resolves every version afresh. A
project whose lock depends on nothing but its own files (no workspace members, no path
sources, static metadata, no uv settings in a directory above it) is instead locked in a copy
of those files on local disk, the old lock among them, so uv keeps its versions; what uv
changed there is put back with anyvenv's own atomic write (a new file, its mode given at
creation, renamed over the old one), which works there.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

    from anyvenv.errors import CannotEditHere
    from anyvenv.project.model import Project

# The files of a project root that uv reads to lock it and may rewrite.
COPIED = ("pyproject.toml", "uv.lock", ".python-version", ".python-versions", "uv.toml")
REWRITTEN = ("pyproject.toml", "uv.lock")
FILE_LIMIT = 16 * 1024 * 1024
COPY_MARK = "anyvenv-project-"  # then HOST-PID-RAND: a killed run's copy is cleared later


def why_not_copyable(
    project: Project, uv_args: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> str | None:
    """Why uv would not lock ``project`` the same in a copy of its root files (with these uv
    arguments and variables); ``None``: it would."""
    from anyvenv.project.model import read_pyproject

    if project.workspace_root != project.root or project.member_globs:
        return "it is part of a workspace"
    data = read_pyproject(os.path.join(project.root, "pyproject.toml"))
    table = data.get("project")
    if isinstance(table, dict) and table.get("dynamic"):
        return "its metadata is dynamic (uv must build it to lock)"
    if has_local_sources(data):
        return "it has path or workspace sources"
    relative = _relative_location(project.root, data, uv_args, environ or {})
    if relative is not None:  # (uv writes it into uv.lock relative to the copy, or reads it
        # from there: a path that leads nowhere from the project, or nowhere from the copy)
        return f"it locks against a path relative to it ({relative})"
    return _settings_above(project.root)


# uv's options and variables that name where packages come from, and its settings' keys
_INDEX_OPTIONS = ("--find-links", "-f", "--index-url", "-i", "--extra-index-url", "--index",
                  "--default-index")  # fmt: skip
_INDEX_VARIABLES = ("UV_FIND_LINKS", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX",
                    "UV_DEFAULT_INDEX")  # fmt: skip
_INDEX_SETTINGS = ("find-links", "index-url", "extra-index-url")
_LOCKED_SOURCE = re.compile(r'\b(registry|path|directory|editable|virtual)\s*=\s*"([^"]*)"')


def _relative_location(
    root: str, data: dict[str, object], uv_args: Sequence[str], environ: Mapping[str, str]
) -> str | None:
    """The first place packages come from that is a relative path: in uv.lock (besides the
    project's own "."), in the arguments, uv's variables or its settings in the root's
    pyproject.toml and uv.toml."""
    from anyvenv.fs.atomic import read_small_file
    from anyvenv.project.model import read_pyproject

    settings = [uv_table(data)]
    uv_toml = os.path.join(root, "uv.toml")
    if os.path.isfile(uv_toml):
        settings.append(read_pyproject(uv_toml))
    lock = read_small_file(os.path.join(root, "uv.lock"), FILE_LIMIT)
    return relative_location_in(lock, settings, uv_args, environ)


def relative_location_in(
    lock: bytes | None,
    settings: Sequence[dict[str, object]],
    uv_args: Sequence[str],
    environ: Mapping[str, str],
) -> str | None:
    """The first place packages come from that is a relative path: in ``lock`` (besides the
    project's own "."), in the arguments, uv's variables or the uv ``settings`` tables."""
    found: list[str] = []
    if lock is not None:
        for key, value in _LOCKED_SOURCE.findall(lock.decode("utf-8", "replace")):
            if not (key in ("editable", "virtual") and value == "."):  # (the project itself)
                found.append(value)
    for index, arg in enumerate(uv_args):
        name, joined, value = arg.partition("=")
        if name in _INDEX_OPTIONS and joined:
            found.append(value)
        elif arg in _INDEX_OPTIONS and index + 1 < len(uv_args):
            found.append(uv_args[index + 1])
        elif arg[:2] in ("-f", "-i") and len(arg) > 2 and not arg.startswith("--"):
            found.append(arg[2:])
    for variable in _INDEX_VARIABLES:
        found += environ.get(variable, "").replace(",", " ").split()
    for table in settings:
        for key in _INDEX_SETTINGS:
            found += _strings(table.get(key))
        for entry in _listed(table.get("index")):
            if isinstance(entry, dict):
                found += _strings(entry.get("url"))
    return next((place for place in map(_location, found) if _is_relative(place)), None)


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    """A setting's string, or the strings of its list."""
    items = [value] if isinstance(value, str) else _listed(value)
    return [item for item in items if isinstance(item, str)]


def uv_table(data: dict[str, object]) -> dict[str, object]:
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv if isinstance(uv, dict) else {}


def _location(value: str) -> str:
    """A ``--index`` value's location: after ``NAME=`` when it names one."""
    name, joined, location = value.partition("=")
    return location if joined and "/" not in name and ":" not in name else value


def _is_relative(place: str) -> bool:
    return bool(place) and "://" not in place and not os.path.isabs(os.path.expanduser(place))


def has_local_sources(data: dict[str, object]) -> bool:
    from anyvenv.project.model import uv_source_entries

    return any(
        not isinstance(entry, dict) or "path" in entry or "workspace" in entry
        for entry in uv_source_entries(data)
    )


def _settings_above(root: str) -> str | None:
    """uv takes its project settings from the nearest uv.toml or ``[tool.uv]`` at or above the
    project; one above the root would not be found from the copy."""
    from anyvenv.project.uvsettings import project_settings_file

    found = project_settings_file(os.path.dirname(root))
    return None if found is None else f"uv settings above it ({found})"


class ProjectCopy:
    """``with ProjectCopy(project_root) as copy:`` the root's files in a new directory on local
    disk (``copy.root``); :meth:`put_back` writes what changed there into the project."""

    def __init__(self, project_root: str) -> None:
        from anyvenv.fs.leftovers import scratch_dir

        self.project_root = project_root
        self.root = ""
        self.before: dict[str, bytes | None] = {}
        self._scratch = scratch_dir("the project's copy on local disk", COPY_MARK)

    def __enter__(self) -> ProjectCopy:
        from anyvenv.fs.atomic import read_small_file
        from anyvenv.fs.place import create_file

        self.root = self._scratch.__enter__()  # (the copies of killed runs are swept first)
        try:
            for name in COPIED:
                data = read_small_file(os.path.join(self.project_root, name), FILE_LIMIT)
                if data is not None:
                    create_file(os.path.join(self.root, name), data, 0o644)
                self.before[name] = data
        except BaseException:
            self._remove()
            raise
        return self

    def changed(self) -> dict[str, bytes]:
        """The rewritable files uv changed in the copy, with their new bytes."""
        from anyvenv.fs.atomic import read_small_file

        found = {}
        for name in REWRITTEN:
            data = read_small_file(os.path.join(self.root, name), FILE_LIMIT)
            if data is not None and data != self.before.get(name):
                found[name] = data
        return found

    def put_back(self) -> list[str]:
        """Write each changed file into the project (pyproject.toml first); their names."""
        from anyvenv.fs.atomic import atomic_write

        written = []
        for name, data in self.changed().items():
            atomic_write(os.path.join(self.project_root, name), data)
            written.append(name)
        return written

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._remove()

    def _remove(self) -> None:
        self._scratch.__exit__(None, None, None)


def cannot_lock_here(why: str, reason: str) -> CannotEditHere:
    """uv.lock must be written where uv can write no file (``why``), and the project cannot be
    locked through a copy (``reason``)."""
    from anyvenv.errors import CannotEditHere

    return CannotEditHere(
        f"uv cannot write uv.lock on the project's filesystem, as {why}, and the project "
        f"cannot be locked through a copy: {reason}",
        "lock it where its files are on a local disk, then copy uv.lock here",
    )


def locked_in_copy(why: str) -> str:
    """The note of a lock made in a copy, as ``why`` (``ProbeResult.why_rewrites_fail``)."""
    return (
        f"uv cannot replace uv.lock on this filesystem, as {why}, so it was locked in a copy of "
        "the project on local disk and put back: locked versions were kept"
    )


def lock_in_copy(
    project: Project, uv: str, lock_args: Sequence[str], uv_env: Mapping[str, str], cwd: str
) -> tuple[int, list[str]]:
    """``uv lock LOCK_ARGS`` in a copy of the project's root files (``--directory`` and
    ``--project`` left out: the copy is the project); uv.lock put back when it succeeds.
    (uv's exit code, files put back)."""
    from anyvenv.project.uvcall import run_uv

    with ProjectCopy(project.root) as copy:
        command = [uv, "lock", *without_project_options(lock_args), "--project", copy.root]
        code = run_uv(command, unmoved_environ(uv_env), cwd)
        return code, (copy.put_back() if code == 0 else [])


def edit_in_copy(
    project: Project,
    uv: str,
    uv_command: str,
    args: Sequence[str],
    python: str,
    uv_env: Mapping[str, str],
    cwd: str,
) -> int:
    """``uv add``/``uv remove`` (``--no-sync``: pyproject.toml and uv.lock only) in a copy of
    the project's root files; what uv changed is put back when it succeeds. uv's exit code.
    :class:`CannotEditHere` when uv wrote a path source: relative to the copy, it would be
    wrong in the project."""
    from anyvenv.errors import CannotEditHere
    from anyvenv.project.model import parse_toml
    from anyvenv.project.uvcall import run_uv

    words = without_project_options(args)
    if "--no-sync" not in words:
        words.append("--no-sync")
    with ProjectCopy(project.root) as copy:
        command = [uv, uv_command, *words, "--project", copy.root, "--python", python]
        code = run_uv(command, uv_env, cwd)
        if code != 0:
            return code
        changed = copy.changed()
        pyproject = changed.get("pyproject.toml")
        if pyproject is not None and has_local_sources(parse_toml("pyproject.toml", pyproject)):
            raise CannotEditHere(
                "uv would write a path source, and where uv cannot rewrite the project's files "
                "anyvenv edits the project through a copy, from which a relative path would be "
                "wrong",
                "add it to pyproject.toml by hand, then run 'anyvenv sync'",
            )
        copy.put_back()
    return 0


def without_project_options(args: Sequence[str]) -> list[str]:
    """``args`` less ``--directory``/``--project`` (and their values): the copy is the project."""
    from anyvenv.project.uvrules import without_options

    return without_options(args, ("--directory", "--project"))


class LockResult:
    """What ``anyvenv lock`` did: uv's exit code, and how uv.lock was written."""

    __slots__ = ("how", "lockfile", "notes", "project", "uv_exit_code")

    def __init__(self, project: str, lockfile: str) -> None:
        self.project = project
        self.lockfile = lockfile
        self.how = "in place"  # or "through a copy", "set aside", "unchanged"
        self.notes: list[str] = []
        self.uv_exit_code = 0

    def to_json(self) -> dict[str, object]:
        return {
            "project": self.project,
            "lockfile": self.lockfile,
            "written": self.how,
            "uv_exit_code": self.uv_exit_code,
            "notes": self.notes,
        }


def lock_project(uv_args: Sequence[str], environ: Mapping[str, str], cwd: str) -> LockResult:
    """``uv lock`` with ``uv_args``: in place where uv can write uv.lock, or where it need not
    (current; or missing, where uv can write a new file); else in a copy of the project on
    local disk, or, for a project that cannot be copied, with the old lock set aside (where
    chmod fails) or refused (where uv can write no file)."""
    from anyvenv.fs.atomic import read_small_file
    from anyvenv.project.model import discover
    from anyvenv.project.uvrules import start_dir

    project = discover(start_dir(uv_args, cwd, environ))
    root = project.workspace_root
    result = LockResult(root, os.path.join(root, "uv.lock"))
    before = read_small_file(result.lockfile, FILE_LIMIT)
    _lock(project, result, uv_args, environ, cwd)
    if read_small_file(result.lockfile, FILE_LIMIT) == before:
        result.how = "unchanged"
    return result


def _lock(
    project: Project,
    result: LockResult,
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
) -> None:
    from anyvenv.fs.outcome import REWRITES_WORK
    from anyvenv.project.envchoice import probed_at
    from anyvenv.project.uvcall import run_uv
    from anyvenv.project.uvlock import LOCK_CHECK, LOCK_WRITE_FREE_FLAGS, RewritableLockfile
    from anyvenv.project.uvrules import has_flag, start_dir
    from anyvenv.uvbinary import find_uv

    root = project.workspace_root
    uv = find_uv()
    command = [uv, "lock", *uv_args]
    writes = not has_flag(uv_args, *LOCK_WRITE_FREE_FLAGS, "--check-exists")
    from anyvenv.project.buildshim import project_source_dirs, with_build_shim

    # uv builds what has dynamic metadata where it is
    environ = with_build_shim(environ, project_source_dirs(project))
    probed = probed_at(root) if writes else None
    if probed is None or probed.rewrites == REWRITES_WORK:
        result.uv_exit_code = run_uv(command, environ, cwd)
        return
    lockfile = RewritableLockfile(
        result.lockfile, probed.rewrites, result.notes, command, environ, uv_args, cwd, LOCK_CHECK
    )
    if not (lockfile.set_aside or lockfile.in_copy_only):
        # current (uv leaves it as it is), or missing where uv can write it anew
        result.uv_exit_code = run_uv(command, environ, cwd)
        return
    reason = why_not_copyable(project, uv_args, environ)
    if reason is None:
        workdir = start_dir(uv_args, cwd, environ, project=False)
        result.uv_exit_code, written = lock_in_copy(project, uv, uv_args, environ, workdir)
        if written:
            result.how = "through a copy"
            result.notes.append(locked_in_copy(probed.why_rewrites_fail))
        return
    if lockfile.in_copy_only:
        raise cannot_lock_here(probed.why_rewrites_fail, reason)
    lockfile.why_not_in_copy = reason
    with lockfile:
        result.uv_exit_code = run_uv(command, environ, cwd)
    if lockfile.aside is not None and result.uv_exit_code == 0:
        result.how = "set aside"


def unmoved_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The copy is the project and the directory is given: uv must not move from them."""
    hidden = ("UV_PROJECT", "UV_WORKING_DIR", "UV_WORKING_DIRECTORY")
    return {key: value for key, value in environ.items() if key not in hidden}
