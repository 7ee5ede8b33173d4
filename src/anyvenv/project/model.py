"""A uv project as uv finds it: the nearest pyproject.toml, its workspace, and the Python it asks
for (``--python``, then ``.python-version``, then ``requires-python``), read the way uv reads them."""

from __future__ import annotations

import os
import stat
import sys

from anyvenv.errors import (
    InterpreterNotFound,
    NotAProject,
    ProjectFileUnreadable,
    UnsupportedPython,
    UsageError,
)
from anyvenv.fs.paths import parents, upward
from anyvenv.interpreter.request import (
    PythonRequest,
    Specifier,
    names_a_path,
    parse_request,
    parse_specifiers,
)
from anyvenv.project.uvrules import uses_version_files
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from anyvenv.pythons.ondemand import Downloads

PYPROJECT = "pyproject.toml"
VERSION_FILES = (".python-version", ".python-versions")


@record
class Project:
    """The project uv would sync from a directory, and the workspace it belongs to."""

    root: str  # the directory of the nearest pyproject.toml
    name: str | None  # None for a virtual workspace root (no [project] table)
    workspace_root: str  # where .venv and uv.lock live
    members: tuple[str, ...]  # workspace member directories (with the root when a project)
    requires_python: tuple[Specifier, ...]  # all members' requires-python, intersected
    requires_python_text: str | None
    member_globs: tuple[str, ...] = ()  # [tool.uv.workspace] members, relative to workspace_root
    managed: bool = True  # [tool.uv] managed = false: uv neither locks nor syncs it
    workspace_name: str | None = None  # the workspace root's project name (None: it has none)

    @property
    def env_name(self) -> str:
        """What uv names the workspace's env by (its prompt): the workspace root's project
        name, else the workspace directory's name; the same from any member."""
        return self.workspace_name or os.path.basename(self.workspace_root)

    def allows(self, version: tuple[int, ...]) -> bool:
        return all(spec.contains(version) for spec in self.requires_python)


@record
class PythonChoice:
    """The Python request for the project and where it came from (for messages), and uv's
    python-preference for finding it."""

    request: PythonRequest
    source: str
    preference: str | None = None  # None: UV_PYTHON_PREFERENCE, else uv's default
    downloads: Downloads | None = None  # None: no Python is downloaded for the request
    warnings: tuple[str, ...] = ()  # uv's, for lines of a version file it ignores (to print)

    def named_in(self, exc: InterpreterNotFound) -> InterpreterNotFound:
        """``exc`` naming where the request came from (a version file, requires-python,
        UV_PYTHON), with the fix there: what the user wrote in a file is changed there."""
        source = self.source
        if source.startswith("--python") or source == "the default Python":
            return exc
        if source.startswith("requires-python"):
            where = "requires-python in pyproject.toml"
        elif source.startswith("UV_PYTHON="):
            where = "UV_PYTHON"
        else:
            where = f"the version in {source}"
        return InterpreterNotFound(
            f"{exc.message}, asked for by {source}", f"{exc.hint}, or change {where}"
        )


def uv_source_entries(data: dict[str, Any]) -> list[object]:
    """The entries of a parsed pyproject's ``[tool.uv.sources]``: each source's table, or
    each table of a source given as a list (uv's per-marker form)."""
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    sources = uv.get("sources") if isinstance(uv, dict) else None
    entries: list[object] = []
    for source in sources.values() if isinstance(sources, dict) else ():
        entries += source if isinstance(source, list) else [source]
    return entries


def read_pyproject(path: str) -> dict[str, Any]:
    """The parsed TOML of ``path``; :class:`UsageError` naming the file when it is invalid.
    The same bytes parsed before are not parsed again (:mod:`anyvenv.project.tomlcache`), nor
    read again while this command's memo of them holds (:mod:`anyvenv.project.readonce`)."""
    from anyvenv.project import tomlcache
    from anyvenv.project.readonce import read_bytes

    try:
        raw = read_bytes(path)
    except OSError as exc:
        import errno

        hint = "check its permissions" if exc.errno == errno.EACCES else "check that it is a file"
        raise ProjectFileUnreadable(f"cannot read {path}: {exc.strerror}", hint) from exc
    absolute = os.path.abspath(path)
    data = tomlcache.recall(absolute, raw)
    if data is None:
        data = parse_toml(path, raw)
        tomlcache.remember(absolute, raw, data)
    return data


def parse_toml(path: str, raw: bytes) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        # (a leading BOM, as Notepad writes, is skipped: uv reads such a file too)
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: arrays or tables nested thousands deep (tomllib recurses)
        raise UsageError(f"{path} is not valid TOML: {exc}", "fix the file, then retry") from exc
    return data


def _table(data: dict[str, Any], *keys: str) -> dict[str, Any] | None:
    current: Any = data
    for key in keys:
        if not isinstance(current, dict) or not isinstance(current.get(key), dict):
            return None
        current = current[key]
    return current if isinstance(current, dict) else None


def _workspace_table(data: dict[str, Any]) -> dict[str, Any] | None:
    return _table(data, "tool", "uv", "workspace")


def _globs(workspace: dict[str, Any], key: str) -> list[str]:
    value = workspace.get(key) or []
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _matches(path: str, root: str, patterns: list[str]) -> bool:
    """uv's glob semantics: the pattern is joined to the workspace root; ``*`` crosses ``/``."""
    if not patterns:
        return False
    import fnmatch  # here: only workspaces glob (fnmatch imports re: start-up time)

    text = os.path.normpath(path)
    return any(
        fnmatch.fnmatchcase(text, os.path.normpath(os.path.join(root, pattern)))
        for pattern in patterns
    )


def covers(root: str, workspace: dict[str, Any], project_dir: str) -> bool:
    """Whether the workspace at ``root`` takes ``project_dir`` as a member."""
    if project_dir == root:
        return True
    return _matches(project_dir, root, _globs(workspace, "members")) and not _matches(
        project_dir, root, _globs(workspace, "exclude")
    )


def find_project_root(start: str) -> str:
    """The nearest directory at or above ``start`` holding a pyproject.toml."""
    for directory in upward(start):
        try:
            if stat.S_ISREG(os.stat(os.path.join(directory, PYPROJECT)).st_mode):
                return directory
        except PermissionError as exc:  # (not "no pyproject.toml": it may be there, unseen)
            path = os.path.join(directory, PYPROJECT)
            _refuse_unreachable(path)
            raise ProjectFileUnreadable(  # (a link to a place this user may not enter)
                f"cannot read {path}: {exc.strerror}",
                "check its permissions and those of what it links to",
            ) from None
        except OSError:
            continue
    raise NotAProject(
        f"no {PYPROJECT} found in {start} or any parent directory",
        "run this inside a project, or pass --project DIR",
    )


def _refuse_unreachable(pyproject: str) -> None:
    """A :class:`ProjectFileUnreadable` naming the directory on the way to ``pyproject``
    that this user may not enter (and the way in), when one is."""
    from anyvenv.fs.paths import first_unenterable

    blocked = first_unenterable(pyproject)
    if blocked is None:
        return
    from anyvenv.fs.remove import ownership

    yours = os.stat(blocked).st_uid == os.geteuid()
    raise ProjectFileUnreadable(
        f"cannot look for {PYPROJECT} in {os.path.dirname(pyproject)}: you may not enter "
        f"{blocked} ({ownership(blocked)})",
        f"chmod u+rx {blocked}" if yours else "run this as its owner, or ask them to let you in",
    )


def _find_workspace_root(project_dir: str) -> tuple[str, dict[str, Any]] | None:
    """The first ancestor pyproject.toml that declares a workspace covering ``project_dir``."""
    from anyvenv.project.readonce import is_file

    for directory in parents(project_dir):
        path = os.path.join(directory, PYPROJECT)
        if not is_file(path):
            continue
        data = read_pyproject(path)
        workspace = _workspace_table(data)
        if workspace is not None:
            return (directory, workspace) if covers(directory, workspace, project_dir) else None
        return None  # another project, or neither: the project stands alone (as uv decides)
    return None


def _member_dirs(root: str, workspace: dict[str, Any]) -> list[str]:
    found: list[str] = []
    excludes = _globs(workspace, "exclude")
    for pattern in _globs(workspace, "members"):
        from pathlib import Path  # here: only workspaces glob (start-up time)

        for candidate in sorted(Path(root).glob(pattern)):
            member = os.path.normpath(candidate)
            if os.path.isfile(os.path.join(member, PYPROJECT)) and not _matches(
                member, root, excludes
            ):
                found.append(member)
    return found


def _requires_python(data: dict[str, Any], path: str) -> tuple[str | None, tuple[Specifier, ...]]:
    project = _table(data, "project")
    text = project.get("requires-python") if project else None
    if text is None:
        return None, ()
    if not isinstance(text, str):
        raise UsageError(f"requires-python in {path} is not a string", "write e.g. '>=3.10'")
    try:
        return text, parse_specifiers(text)
    except ValueError as exc:
        raise UsageError(
            f"cannot read requires-python {text!r} in {path}",
            "write e.g. '>=3.10' or '>=3.10,<3.13'",
        ) from exc


def discover(start: str | os.PathLike[str]) -> Project:
    """The project uv would sync when run in ``start`` (a directory)."""
    if not os.path.isdir(start):  # moved there by --directory/--project (UV_WORKING_DIR...)
        _refuse_unreachable(os.path.join(os.fspath(start), PYPROJECT))
        raise UsageError(
            f"the directory {os.fspath(start)} does not exist or is not a directory",
            "pass an existing directory to --directory or --project (UV_WORKING_DIR, UV_PROJECT)",
        )
    root = find_project_root(os.path.abspath(start))
    pyproject = os.path.join(root, PYPROJECT)
    data = read_pyproject(pyproject)
    project_table = _table(data, "project")
    if project_table is None and "project" in data:
        raise UsageError(f"[project] in {pyproject} is not a table", "write a [project] table")
    own_workspace = _workspace_table(data)
    if project_table is None and own_workspace is None:
        # as uv: a pyproject.toml with neither (only [dependency-groups], or only tool
        # settings) is the root of a workspace of its own, with no members
        own_workspace = {}
    name = project_table.get("name") if project_table else None
    if name is not None and not isinstance(name, str):
        raise UsageError(f"project.name in {pyproject} is not a string", 'write e.g. name = "demo"')
    if own_workspace is not None:
        workspace_root, workspace = root, own_workspace
    else:
        found = _find_workspace_root(root)
        workspace_root, workspace = found if found is not None else (root, {})
    members = [root] if workspace_root == root and project_table is not None else []
    workspace_name = name if isinstance(name, str) else None
    if workspace_root != root:
        root_data = read_pyproject(os.path.join(workspace_root, PYPROJECT))
        root_table = _table(root_data, "project")
        workspace_name = None
        if root_table is not None:
            members.append(workspace_root)
            root_name = root_table.get("name")
            workspace_name = root_name if isinstance(root_name, str) else None
    for member in _member_dirs(workspace_root, workspace):
        if member not in members:
            members.append(member)
    if root not in members and project_table is not None:
        members.append(root)
    texts: list[str] = []
    specs: list[Specifier] = []
    for member in members:
        member_pyproject = os.path.join(member, PYPROJECT)
        member_data = data if member == root else read_pyproject(member_pyproject)
        text, member_specs = _requires_python(member_data, member_pyproject)
        if text is not None and text not in texts:
            texts.append(text)
        specs.extend(member_specs)
    return Project(
        root=root,
        name=name if isinstance(name, str) else None,
        workspace_root=workspace_root,
        members=tuple(members),
        requires_python=tuple(specs),
        requires_python_text=",".join(texts) if texts else None,
        member_globs=tuple(_globs(workspace, "members")),
        managed=(uv_table(data) or {}).get("managed") is not False,
        workspace_name=workspace_name,
    )


def uv_table(data: dict[str, Any]) -> dict[str, Any] | None:
    """The ``[tool.uv]`` table of a parsed pyproject.toml; ``None`` when there is none."""
    return _table(data, "tool", "uv")


# -- the Python request ------------------------------------------------------------------------


def _read_version_file(path: str) -> tuple[list[str], list[str]]:
    """The requests in a version file, one a line, comments and the lines uv ignores left
    out, and uv's warning for each line it ignores (see :func:`_names_an_executable`); a usage
    error when it cannot be read or is not UTF-8, as uv refuses it (rather than silently
    taking another Python). A leading BOM (Notepad's) is skipped: uv 0.13 takes the first
    line with it for a request it cannot read, and ignores the file with a warning."""
    from anyvenv.project.readonce import read_bytes

    try:  # (splitlines below takes \r\n and \r as text mode's newlines would)
        text = read_bytes(path).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise UsageError(
            f"cannot read the Python version file {path}: {why}",
            "fix or remove it, or pass --python (--no-config ignores version files)",
        ) from exc
    stripped = (line.strip() for line in text.splitlines())
    lines = [line for line in stripped if line and not line.startswith("#")]
    ignored = [line for line in lines if _names_an_executable(line)]
    warnings = [
        f"Ignoring unsupported Python request `{line}` in version file: {path}"  # (uv's words)
        for line in ignored
    ]
    return [line for line in lines if line not in ignored], warnings


def _names_an_executable(text: str) -> bool:
    """Whether uv reads a version file's line as an executable name, which uv (0.7 on)
    ignores with a warning: an environment's name as pyenv-virtualenv pins it (``myenv``),
    pyenv's ``system``, ``python``, ``python3-dbg``, or anything it cannot read as a version
    (``3.x``); the next line, else the next source, is then used."""
    if names_a_path(text):  # (uv reads .venv as a path only when something is there)
        return "/" not in text and not os.path.exists(text)
    try:
        request = parse_request(text)
    except UnsupportedPython:  # (pypy@3.10: uv reads it, and finds no PyPy)
        return False
    except UsageError:  # (uv reads what is no version, path nor key as a name)
        return True
    if request.name is None or request.specifiers:
        return False
    return not _names_an_implementation(text)


_OTHER_IMPLEMENTATIONS = ("pypy", "graalpy", "pyodide", "pp", "gp")


def _names_an_implementation(text: str) -> bool:
    """Whether uv reads ``text`` as another implementation, with a version or without
    (``pypy3.10``, ``pp310``, ``graalpy``): a request it keeps (and finds no CPython for)."""
    lowered = text.lower()
    for prefix in _OTHER_IMPLEMENTATIONS:
        if lowered.startswith(prefix):
            rest = lowered[len(prefix) :].lstrip("@-")
            if not rest:
                return True
            try:
                request = parse_request(rest)
            except UsageError:
                return False
            return bool(request.specifiers) and request.name is None
    return False


def version_file_requests(path: str) -> tuple[list[str], list[str]]:
    """Every request in a version file, as ``uv python install`` reads it, and uv's warning
    for each line it ignores."""
    return _read_version_file(path)


def find_version_file(
    start: str, stop_at: str | None = None, *, names: tuple[str, ...] = VERSION_FILES
) -> str | None:
    """``.python-version`` (or ``.python-versions``) in ``start`` or the nearest directory above
    it, as uv looks: up to ``stop_at`` (the workspace root, included) when given, else up to /.
    ``names``: the file names, in the order they are preferred in one directory."""
    from anyvenv.project.readonce import is_file

    for directory in upward(start):
        for name in names:
            path = os.path.join(directory, name)
            if is_file(path):
                return path
        if directory == stop_at:
            return None
    return None


def global_version_file(environ: Mapping[str, str]) -> str | None:
    """uv's global pin, ``$XDG_CONFIG_HOME/uv/.python-version``."""
    from anyvenv.project.uvrules import user_config_dir

    user = user_config_dir(environ)
    if user is None:
        return None
    for name in VERSION_FILES:
        path = os.path.join(user, name)
        if os.path.isfile(path):
            return path
    return None


def _requires_python_request(project: Project) -> PythonRequest:
    if not project.requires_python_text:
        return parse_request(None)
    return PythonRequest(project.requires_python_text, specifiers=project.requires_python)


def _pinned_version(request: PythonRequest) -> tuple[int, ...] | None:
    for spec in request.specifiers:
        if spec.op == "==":
            return spec.version
    return None


def choose_python(
    project: Project | None,
    explicit: str | None,
    environ: Mapping[str, str],
    *,
    start: str | None = None,
    use_version_files: bool = True,
) -> PythonChoice:
    """The Python request, in uv's order: ``--python``, ``UV_PYTHON``, the nearest version file
    from ``start`` (uv's project directory: the working directory, or ``--directory`` or
    ``--project``; default: the project's root) up to the workspace root, the global version
    file (if requires-python allows it), requires-python. ``project`` is ``None`` outside a
    project (``anyvenv venv``): version files are then looked for up to /."""
    if explicit:
        return PythonChoice(parse_request(explicit), f"--python {explicit}")
    from_env = environ.get("UV_PYTHON")
    if from_env:
        source = f"UV_PYTHON={from_env}"
        try:
            return PythonChoice(parse_request(from_env), source)
        except UnsupportedPython as exc:  # (pypy@3.10: read, but no CPython answers it)
            raise PythonChoice(PythonRequest(from_env), source).named_in(exc) from exc
        except UsageError as exc:
            raise UsageError(f"{exc.message} in UV_PYTHON", f"{exc.hint}; or unset it") from exc
    if use_version_files:
        if start is None:
            if project is None:
                raise ValueError("choose_python needs a start directory or a project")
            start = project.root
        stop_at = project.workspace_root if project is not None else None
        # the nearest local file, even an empty one, hides the global pin (as in uv)
        local = find_version_file(os.path.abspath(start), stop_at)
        glob = None if local else global_version_file(environ)
        warnings: list[str] = []
        for path, is_global in ((local, False), (glob, True)):
            if path is None:
                continue
            requests, ignored = _read_version_file(path)
            warnings += ignored
            text = next(iter(requests), None)
            if text is None:
                continue
            try:
                request = parse_request(text)
            except UnsupportedPython as exc:  # (pypy@3.10: read, but no CPython answers it)
                raise PythonChoice(PythonRequest(text), path).named_in(exc) from exc
            except UsageError as exc:
                raise UsageError(
                    f"cannot read the Python version {text!r} in {path}", exc.hint
                ) from exc
            pinned = _pinned_version(request)
            allowed = project is None or pinned is None or project.allows(pinned)
            if is_global and not allowed:
                continue  # uv ignores a global pin the project does not allow
            return PythonChoice(request, f"{path}", warnings=tuple(warnings))
    else:
        warnings = []
    if project is not None and project.requires_python_text:
        return PythonChoice(
            _requires_python_request(project),
            f"requires-python {project.requires_python_text}",
            warnings=tuple(warnings),
        )
    return PythonChoice(parse_request(None), "the default Python", warnings=tuple(warnings))


@record
class VenvPython:
    """What the project around the working directory means for ``anyvenv venv``, as for
    ``uv venv``: the Python to build from, the project (``None`` outside one, or under
    ``--no-project``), where the env goes when no path is given, and a warning to print when a
    pyproject.toml on the way could not be read (uv warns and goes on)."""

    choice: PythonChoice
    project: Project | None = None
    default_path: str | None = None  # the project's env, when run from the workspace root
    warning: str | None = None

    def incompatibility(self, version: str) -> str | None:
        """The warning uv gives when the Python found (``version``, e.g. ``3.11.7``) is one the
        project's requires-python rules out; the env is still made, as by uv."""
        if self.project is None or self.project.allows(release(version)):
            return None
        fix = (
            "; pin one it allows (uv python pin)"
            if self.choice.source.endswith(VERSION_FILES)
            else ""
        )
        return (
            f"{self.choice.source} resolved to Python {version}, which the project's "
            f"requires-python {self.project.requires_python_text} does not allow{fix}"
        )


def release(version: str) -> tuple[int, ...]:
    """The release numbers that open a version text: ``3.13.0rc1`` gives ``(3, 13, 0)``."""
    numbers: list[int] = []
    for part in version.split("."):
        digits = part[: len(part) - len(part.lstrip("0123456789"))]
        if not digits:
            break
        numbers.append(int(digits))
        if digits != part:
            break
    return tuple(numbers)


def python_for_venv(
    start: str,
    environ: Mapping[str, str],
    *,
    explicit: str | None = None,
    no_project: bool = False,
    no_config: bool = False,
) -> VenvPython:
    """The request ``uv venv`` makes in ``start``: ``--python`` (``explicit``), ``UV_PYTHON``,
    the nearest version file (up to the workspace root of the project ``start`` is in, else up
    to /), the global one, the project's requires-python, else the default Python. A directory
    that is in no project is not an error; a project that is not valid is ignored, with a
    warning, and one whose pyproject.toml cannot be read is refused, as uv does. Run from the
    workspace root, the default path is the project's environment (``UV_PROJECT_ENVIRONMENT``,
    else ``.venv``)."""
    project: Project | None = None
    warning = None
    if not no_project:
        try:
            project = discover(start)
        except NotAProject:
            pass
        except ProjectFileUnreadable as exc:  # (as uv venv: one it cannot read stops it)
            raise ProjectFileUnreadable(exc.message, f"{exc.hint}, or pass --no-project") from exc
        except UsageError as exc:
            warning = f"ignoring the project around {start}: {exc.message}"
    choice = choose_python(
        project,
        explicit,
        environ,
        start=start,
        use_version_files=not no_config and uses_version_files((), environ),
    )
    default_path = None
    if project is not None and os.path.abspath(start) == project.workspace_root:
        from anyvenv.project.uvrules import declared_env

        default_path = declared_env(project.workspace_root, environ)
    return VenvPython(choice, project, default_path, warning)
