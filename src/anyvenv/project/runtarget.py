"""What ``anyvenv run CMD ...`` executes in the env, read the way ``uv run`` reads CMD.

``python`` is the env's python; an existing ``*.py``/``*.pyc``/``*.pyw`` file, a directory with
a ``__main__.py`` and a zipapp are run by it; ``-`` runs the script on standard input; with
``-m``/``--module`` CMD is a module, with ``-s``/``--script`` (or ``--gui-script``) a script
whatever its name. A script that declares its own dependencies (PEP 723 inline metadata) is
not run in the project env at all: uv runs it in an env of its own, as ``uv run`` does.
Anything else is a command found on ``PATH`` (the env's ``bin`` first).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Final, Literal

    from anyvenv.project.runargs import RunArgs

    RunRoute = Literal["uv alone", "uv on the env", "in the env"]

# the opening line of a PEP 723 metadata block of type `script`
_SCRIPT_BLOCK_START = b"# /// script"

# Who carries out what ``anyvenv run`` was given (:func:`plan_run`):
# uv alone, without anyvenv's env (an env of uv's own, in its cache, or none at all)
UV_ALONE: Final = "uv alone"
# uv run --no-sync, on the env anyvenv synced (what only uv can add on top of it)
UV_ON_ENV: Final = "uv on the env"
# anyvenv, which execs the target in the env it synced (or lists its commands, for none)
IN_ENV: Final = "in the env"


class RunTarget:
    """CMD, read: ``kind`` is one of ``python``, ``script``, ``module``, ``package``,
    ``stdin``, ``inline-script`` (PEP 723), ``remote``, ``command``."""

    __slots__ = ("args", "kind", "target")

    def __init__(self, kind: str, target: str, args: Sequence[str]) -> None:
        self.kind = kind
        self.target = target
        self.args = list(args)

    def argv(self, env: str, stdin: bytes | None = None) -> list[str]:
        """The command line to exec in ``env``; ``stdin`` is the script read for ``-``."""
        python = os.path.join(env, "bin", "python")
        if self.kind == "python":
            return [python, *self.args]
        if self.kind == "module":
            return [python, "-m", self.target, *self.args]
        if self.kind == "stdin":
            return [python, "-c", os.fsdecode(stdin or b""), *self.args]
        if self.kind == "package":
            entry_point = os.path.join(env, "bin", self.target)
            if os.path.isfile(entry_point) and os.access(entry_point, os.X_OK):
                return [entry_point, *self.args]
            return [python, self.target, *self.args]
        if self.kind == "script":
            return [python, self.target, *self.args]
        return [self.target, *self.args]

    def project_args(
        self, cwd: str, uv_args: Sequence[str], environ: Mapping[str, str]
    ) -> list[str]:
        """``uv_args`` with the project uv run would use for this target: a script, zipapp or
        package directory named with a directory part is run in the project around that
        directory (uv 0.13: ``ParsedRunCommand::script_dir``), unless ``--project`` or
        ``UV_PROJECT`` names one."""
        from anyvenv.project.uvrules import option_value

        if self.kind not in ("script", "package", "inline-script"):
            return list(uv_args)
        parent = os.path.dirname(self.target.rstrip(os.sep))
        if not parent or option_value(uv_args, "--project") or environ.get("UV_PROJECT"):
            return list(uv_args)
        project = os.path.normpath(os.path.join(cwd, parent))
        if _nearest_pyproject(project) == _nearest_pyproject(cwd):
            # uv finds the same project either way; the command line stays as it was, so the
            # last sync's record still answers for it
            return list(uv_args)
        return [*uv_args, "--project", project]


class RunPlan:
    """How ``anyvenv run`` carries out its command line: ``route`` (:data:`UV_ALONE`,
    :data:`UV_ON_ENV`, :data:`IN_ENV`) and ``target``, the command read (``None``: none was
    given, or it is uv's alone to read)."""

    __slots__ = ("route", "target")

    def __init__(self, route: RunRoute, target: RunTarget | None) -> None:
        self.route = route
        self.target = target

    def __repr__(self) -> str:
        kind = None if self.target is None else self.target.kind
        return f"RunPlan({self.route!r}, {kind!r})"


def plan_run(
    request: RunArgs,
    uv_args: Sequence[str],
    command: Sequence[str],
    workdir: str,
    stdin_script: Callable[[], bytes],
) -> RunPlan:
    """Who runs ``command`` (``uv_args`` read as ``request``; paths from ``workdir``): the one
    place that decides it, for the no-op shortcut and the ordinary way alike.

    uv alone: ``--show-settings`` (uv prints them and runs nothing), ``--isolated`` and
    ``--no-project`` (``UV_ISOLATED``, ``UV_NO_PROJECT``), a script that declares its own
    dependencies (PEP 723), from a file or on standard input (``stdin_script()`` reads it,
    once, only then); uv on the env anyvenv synced: ``--with``, ``--env-file``
    (``UV_ENV_FILE``), a URL; anyvenv in the env: the rest. Where the sync finds no project
    uv manages, the ordinary way hands the command to uv alone all the same (as uv run does
    without a project env). :class:`~anyvenv.errors.UsageError` for a command that cannot
    be read (empty, ``-m -``)."""
    if "--show-settings" in uv_args:
        return RunPlan(UV_ALONE, None)
    target = (
        read_target(command, workdir, request.module, request.script, request.gui_script)
        if command
        else None
    )
    if request.alone:
        return RunPlan(UV_ALONE, target)
    if target is not None and (
        target.kind == "inline-script"
        or (target.kind == "stdin" and inline_metadata_in(stdin_script()))  # as a file would
    ):
        return RunPlan(UV_ALONE, target)
    if request.needs_uv_run or (target is not None and target.kind == "remote"):
        return RunPlan(UV_ON_ENV, target)
    return RunPlan(IN_ENV, target)


def _nearest_pyproject(directory: str) -> str | None:
    """The first ``pyproject.toml`` from ``directory`` up, where uv's discovery starts."""
    current = os.path.abspath(directory)
    while True:
        candidate = os.path.join(current, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def read_target(
    command: Sequence[str],
    cwd: str,
    module: bool = False,
    script: bool = False,
    gui_script: bool = False,
) -> RunTarget:
    """Classify ``command`` (non-empty) as ``uv run`` does; paths are relative to ``cwd``,
    where the command will run."""
    target, args = command[0], command[1:]
    if not target:
        from anyvenv.errors import UsageError

        raise UsageError("the command to run is empty", "name a command, a script or python")
    path = os.path.join(cwd, target)
    if target == "-":
        if module:
            from anyvenv.errors import UsageError

            raise UsageError(
                "cannot run a Python module from standard input", "name the module, or drop -m"
            )
        return RunTarget("stdin", target, args)
    if target.startswith(("http://", "https://")) and not os.path.exists(path):
        return RunTarget("remote", target, args)
    if module:
        return RunTarget("module", target, args)
    if script or gui_script:
        return RunTarget(_script_kind(path), target, args)
    if target.lower() == "python":
        return RunTarget("python", target, args)
    is_file = os.path.isfile(path)
    if is_file and os.path.splitext(target)[1].lower() in (".py", ".pyc", ".pyw"):
        return RunTarget(_script_kind(path), target, args)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "__main__.py")):
        return RunTarget("package", target, args)
    if is_file and is_zipapp(path):
        return RunTarget("script", target, args)
    return RunTarget("command", target, args)


def _script_kind(path: str) -> str:
    return "inline-script" if has_inline_metadata(path) else "script"


def has_inline_metadata(path: str) -> bool:
    """Whether ``path`` holds a PEP 723 ``script`` block (a ``# /// script`` line that a
    ``# ///`` line closes, every line between starting with ``#``; none between is an empty
    block, which uv reads as a script with no dependencies)."""
    try:
        with open(path, "rb") as file:
            text = file.read()
    except OSError:
        return False
    return inline_metadata_in(text)


def inline_metadata_in(text: bytes) -> bool:
    """Whether the script ``text`` holds a PEP 723 ``script`` block (see
    :func:`has_inline_metadata`)."""
    if _SCRIPT_BLOCK_START not in text:
        return False
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line != _SCRIPT_BLOCK_START:
            continue
        for inside in lines[start + 1 :]:
            if inside == b"# ///":
                return True
            if not (inside == b"#" or inside.startswith(b"# ")):
                break
    return False


def is_zipapp(path: str) -> bool:
    """A zip archive (a shebang may come first) with a ``__main__.py`` file at its top."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any(
                info.filename == "__main__.py" and not info.is_dir() for info in archive.infolist()
            )
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def available_commands(env: str) -> list[str]:
    """The env's commands, as ``uv run`` with no command lists them."""
    bin_dir = os.path.join(env, "bin")
    try:
        names = os.listdir(bin_dir)
    except OSError:
        return []
    found = []
    for name in names:
        path = os.path.join(bin_dir, name)
        if (
            os.path.isfile(path)
            and os.access(path, os.X_OK)
            and not name.startswith(("activate", "deactivate"))
        ):
            found.append(name)
    return sorted(found)
