"""uv's rules for where things are, on plain strings: option values and flags on its command
line, the directory it starts from, the env path a project declares.

Import-light (``os`` only): a no-op sync uses these before anything else is loaded.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


PLAIN_SHORT_FLAGS = "qvnU"  # uv's one-letter options that take no value: -q, -v, -n, -U


def unclustered(arg: str, letters: str) -> tuple[str, str] | None:
    """``-qp3.12`` as ``("-q", "-p3.12")``: uv's plain flags clustered before one of
    ``letters`` (one-letter options read apart from the rest); ``None`` for anything else."""
    if len(arg) < 3 or arg[0] != "-" or arg[1] == "-":
        return None
    for index in range(1, len(arg)):
        if arg[index] in letters:
            return ("-" + arg[1:index], "-" + arg[index:]) if index > 1 else None
        if arg[index] not in PLAIN_SHORT_FLAGS:
            return None
    return None


def option_value(args: Sequence[str], name: str) -> str | None:
    """The last value given for ``--name VALUE`` or ``--name=VALUE`` in ``args``."""
    found: str | None = None
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith(name + "="):
            found = arg[len(name) + 1 :]
    return found


def without_options(args: Sequence[str], names: Sequence[str]) -> list[str]:
    """``args`` less the options ``names`` that take a value: ``--name VALUE``, ``--name=VALUE``."""
    kept: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
        elif arg in names:
            skip_value = True
        elif arg.partition("=")[0] not in names:
            kept.append(arg)
    return kept


def has_flag(args: Sequence[str], *names: str) -> bool:
    return any(arg in names for arg in args)


def offline_wanted(args: Sequence[str], environ: Mapping[str, str]) -> bool:
    """uv's offline setting: the last of ``--offline`` and ``--no-offline`` in ``args``, else
    ``UV_OFFLINE``."""
    given = [arg for arg in args if arg in ("--offline", "--no-offline")]
    if given:
        return given[-1] == "--offline"
    return env_flag(environ, "UV_OFFLINE")


def reinstall_in_args(args: Sequence[str]) -> bool | set[str] | None:
    """What uv's arguments say of reinstalling: everything (``True``: ``--reinstall``, uv
    pip's ``--force-reinstall``), nothing (``False``: ``--no-reinstall``, the last of these
    winning, names or not), else the normalized names given to ``--reinstall-package``;
    ``None`` when they say nothing of it (uv's settings decide)."""
    from anyvenv.envbuild.dists import normalize_name

    everything: bool | None = None
    named: set[str] = set()
    for index, arg in enumerate(args):
        if arg in ("--reinstall", "--force-reinstall"):
            everything = True
        elif arg == "--no-reinstall":
            everything = False
        elif arg == "--reinstall-package" and index + 1 < len(args):
            named.add(normalize_name(args[index + 1]))
        elif arg.startswith("--reinstall-package="):
            named.add(normalize_name(arg.partition("=")[2]))
    if everything is not None:
        return everything
    return named or None


_OFF = frozenset(("", "0", "f", "false", "n", "no", "off"))
_ON = frozenset(("1", "t", "true", "y", "yes", "on"))


def env_flag(environ: Mapping[str, str], name: str) -> bool:
    """Whether the boolean variable ``name`` (``UV_NO_CACHE``, ``UV_FROZEN``...) is set on, as
    clap's boolish parser in uv reads it: one of its true words (``1``, ``t``, ``true``,
    ``y``, ``yes``, ``on``, in any case); unset, empty or a false word is off. Anything else
    is refused, as uv refuses it, before anyvenv acts on it (``UV_VENV_CLEAR=nope`` must not
    replace an env)."""
    value = environ.get(name, "").lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    from anyvenv.errors import UsageError

    raise UsageError(f"{name}={environ[name]!r} is not a boolean value", _boolean_hint(name))


def _boolean_hint(name: str) -> str:
    return f"set {name} to 1, true, yes or on (or 0, false, no, off), or unset it"


# the boolean variables every uv command (0.13) reads at its start, and refuses when one
# holds none of its words, or nothing
UV_GLOBAL_FLAGS = (
    "UV_NO_PROGRESS",
    "UV_OFFLINE",
    "UV_NO_CACHE",
    "UV_NATIVE_TLS",
    "UV_SYSTEM_CERTS",
    "UV_PREVIEW",
    "UV_NO_CONFIG",
    "UV_ISOLATED",
    "UV_NO_ENV_FILE",
    "UV_MANAGED_PYTHON",
    "UV_NO_MANAGED_PYTHON",
    "UV_FROZEN",
    "UV_LOCKED",
    "UV_NO_SYNC",
    "UV_SHOW_RESOLUTION",
    "UV_NO_INSTALLER_METADATA",
    "UV_NO_EDITABLE",
    "UV_NO_DEV",
    "UV_DEV",
    "UV_INIT_BARE",
    "UV_VENV_SEED",
    "UV_VENV_CLEAR",
)


def check_global_flags(environ: Mapping[str, str]) -> None:
    """:class:`UsageError` for the first of uv's start-up boolean variables that is empty or
    not one of its words, as uv gives whatever the command (before anyvenv acts)."""
    for name in UV_GLOBAL_FLAGS:
        if environ.get(name) == "":
            from anyvenv.errors import UsageError

            raise UsageError(
                f"{name} is set to nothing, which uv does not take as a boolean value",
                _boolean_hint(name),
            )
        env_flag(environ, name)


def env_set(environ: Mapping[str, str], name: str) -> bool:
    """Whether ``name`` is set to anything but nothing or a false word (for variables that
    hold a value, such as ``UV_EXCLUDE_NEWER``, or where uv will judge the value itself)."""
    return environ.get(name, "").lower() not in _OFF


def uses_version_files(uv_args: Sequence[str], environ: Mapping[str, str]) -> bool:
    """uv ignores .python-version under ``--no-config`` / ``UV_NO_CONFIG``."""
    return not (env_flag(environ, "UV_NO_CONFIG") or has_flag(uv_args, "--no-config"))


def start_dir(
    args: Sequence[str], cwd: str, environ: Mapping[str, str], project: bool = True
) -> str:
    """Where uv looks for the project: ``--directory`` (``UV_WORKING_DIR``) then ``--project``
    (``UV_PROJECT``) move it, as in uv. ``project=False``: where uv runs things (the
    directory only, as ``uv run`` does)."""
    base = working_dir(option_value(args, "--directory"), cwd, environ)
    if not project:
        return base
    return project_dir(option_value(args, "--project"), base, environ)


def working_dir(directory: str | None, cwd: str, environ: Mapping[str, str]) -> str:
    """uv's working directory: ``--directory`` (``directory``), else ``UV_WORKING_DIR``, moves
    it from ``cwd``. A ``~`` in them is a name, as uv reads it (the shell expands its own)."""
    directory = (
        directory
        or environ.get("UV_WORKING_DIR")
        or environ.get("UV_WORKING_DIRECTORY")  # uv's older name, still read
    )
    if not directory:
        return cwd
    return os.path.normpath(os.path.join(cwd, directory))


def existing_dirs(
    directory: str | None, project: str | None, cwd: str, environ: Mapping[str, str]
) -> tuple[str, str]:
    """uv's working directory and where it looks for the project (:func:`working_dir`,
    :func:`project_dir`), each refused as uv refuses it (exit 2) where it is moved to a
    directory that is not there."""
    from anyvenv.errors import UsageError

    workdir = working_dir(directory, cwd, environ)
    if workdir != cwd and not os.path.isdir(workdir):
        raise UsageError(
            f"the working directory {workdir} does not exist or is not a directory",
            "pass an existing directory to --directory (or UV_WORKING_DIR)",
        )
    start = project_dir(project, workdir, environ)
    if start != workdir and not os.path.isdir(start):
        raise UsageError(
            f"the project directory {start} does not exist or is not a directory",
            "pass an existing directory to --project (or UV_PROJECT)",
        )
    return workdir, start


def project_dir(project: str | None, workdir: str, environ: Mapping[str, str]) -> str:
    """Where uv starts looking for the project: ``--project`` (``project``), else
    ``UV_PROJECT``, against the working directory; a path to a ``pyproject.toml`` file means
    its directory, as in uv. Else the working directory."""
    project = project or environ.get("UV_PROJECT")
    if not project:
        return workdir
    path = os.path.normpath(os.path.join(workdir, project))
    if os.path.basename(path) == "pyproject.toml" and os.path.isfile(path):
        return os.path.dirname(path)
    return path


def active_env(uv_args: Sequence[str], environ: Mapping[str, str], cwd: str) -> str | None:
    """``VIRTUAL_ENV`` when ``--active`` asks for it (the last of ``--active``/``--no-active``
    wins), resolved as uv resolves it: against the directory uv runs in."""
    wanted = False
    for arg in uv_args:
        if arg in ("--active", "--no-active"):
            wanted = arg == "--active"
    value = environ.get("VIRTUAL_ENV", "")
    if not wanted or not value:
        return None
    return os.path.normpath(os.path.join(start_dir(uv_args, cwd, environ, project=False), value))


def project_env_path(
    workspace_root: str, uv_args: Sequence[str], environ: Mapping[str, str], cwd: str
) -> str:
    """The env a sync of this workspace targets: the active one under ``--active``, else the
    declared one."""
    return active_env(uv_args, environ, cwd) or declared_env(workspace_root, environ)


def declared_env(workspace_root: str, environ: Mapping[str, str]) -> str:
    """``UV_PROJECT_ENVIRONMENT`` as uv reads it (relative: against the workspace root; a
    ``~`` is a name, not the home directory), else ``.venv`` in the workspace root."""
    value = environ.get("UV_PROJECT_ENVIRONMENT")
    if value:
        return os.path.normpath(os.path.join(workspace_root, value))
    return os.path.join(workspace_root, ".venv")


def user_config_dir(environ: Mapping[str, str]) -> str | None:
    """Where uv reads the user's ``uv.toml`` and global ``.python-version``:
    ``$XDG_CONFIG_HOME/uv``, else ``~/.config/uv``; ``None`` with no home (a container's
    arbitrary uid), where uv reads no user config either."""
    from anyvenv.errors import NoHomeDirectory
    from anyvenv.userdirs import xdg_dir

    try:
        return os.path.join(xdg_dir("XDG_CONFIG_HOME", ".config", environ), "uv")
    except NoHomeDirectory:
        return None


def system_config_dirs(environ: Mapping[str, str]) -> list[str]:
    """Where uv reads a system-wide ``uv.toml``: ``$XDG_CONFIG_DIRS`` (else ``/etc/xdg``), each
    with ``uv`` appended, then ``/etc/uv``."""
    dirs = (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    return [*(os.path.join(d, "uv") for d in dirs if d), "/etc/uv"]


def user_and_system_config_files(environ: Mapping[str, str]) -> list[str]:
    """The ``uv.toml`` files uv may read outside the project, the user's first."""
    user = user_config_dir(environ)
    dirs = [*([user] if user is not None else []), *system_config_dirs(environ)]
    return [os.path.join(directory, "uv.toml") for directory in dirs]


def given_config_files(args: Sequence[str], environ: Mapping[str, str], cwd: str) -> list[str]:
    """``--config-file`` and ``UV_CONFIG_FILE``, as paths (relative ones against ``cwd``)."""
    given = (option_value(args, "--config-file"), environ.get("UV_CONFIG_FILE"))
    return [os.path.join(cwd, os.path.expanduser(value)) for value in given if value]
