"""uv's settings files, found as uv finds them, for the few settings anyvenv acts on itself.

uv reads one project settings file: the first ``uv.toml``, or ``pyproject.toml`` with a
``[tool.uv]`` table, from the project's workspace root (outside a project: the project
directory) up to ``/``; then the user's ``uv.toml`` and the system's fill what it leaves
unset. ``--config-file`` (``UV_CONFIG_FILE``) replaces all of them; ``--no-config``
(``UV_NO_CONFIG``) reads none.
"""

from __future__ import annotations

import os

from anyvenv.project.uvrules import (
    env_flag,
    given_config_files,
    has_flag,
    option_value,
    reinstall_in_args,
    user_and_system_config_files,
    uses_version_files,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from anyvenv.project.linkmode import LinkChoice

UV_TOML = "uv.toml"
PYPROJECT = "pyproject.toml"


def settings_files(
    start: str, uv_args: Sequence[str], environ: Mapping[str, str], cwd: str
) -> list[str]:
    """The files uv takes its settings from, the first one winning each key."""
    given = given_config_files(uv_args, environ, cwd)
    if given:
        if not os.path.exists(given[0]):
            from anyvenv.errors import UsageError
            from anyvenv.project.uvrules import option_value

            name = "--config-file" if option_value(uv_args, "--config-file") else "UV_CONFIG_FILE"
            raise UsageError(
                f"{name} names {given[0]}, which does not exist",
                f"give {name} an existing uv.toml, or leave it out",
            )
        return given[:1]  # --config-file, else UV_CONFIG_FILE: alone
    if not uses_version_files(uv_args, environ):  # --no-config / UV_NO_CONFIG
        return []
    nearest = project_settings_file(start)
    from anyvenv.project.readonce import is_file

    others = [path for path in user_and_system_config_files(environ) if is_file(path)]
    return [*([nearest] if nearest else []), *others]


def project_settings_file(start: str) -> str | None:
    """The nearest ``uv.toml``, or ``pyproject.toml`` with a ``[tool.uv]`` table, at or above
    ``start``. A ``pyproject.toml`` that cannot be read is passed over, as uv warns and goes
    on; a ``uv.toml`` is taken as it is (reading it later says what is wrong)."""
    from anyvenv.fs.paths import upward
    from anyvenv.project.readonce import is_file  # (each file looked up once a command)

    for directory in upward(os.path.abspath(start)):
        uv_toml = os.path.join(directory, UV_TOML)
        if is_file(uv_toml):
            return uv_toml
        pyproject = os.path.join(directory, PYPROJECT)
        if is_file(pyproject) and _uv_table_of_readable(pyproject) is not None:
            return pyproject
    return None


def setting(key: str, files: Sequence[str], table: str | None = None) -> tuple[object, str] | None:
    """The value of ``key`` (of the sub-table ``table``, e.g. ``pip``, if given) and the file it
    comes from, the first of ``files`` that sets it. :class:`~anyvenv.errors.UsageError` for a
    ``uv.toml`` that cannot be read or parsed, as uv refuses one."""
    from anyvenv.project.model import read_pyproject

    for path in files:
        if os.path.basename(path) == PYPROJECT:
            settings = _uv_table_of_readable(path) or {}
        else:  # a uv.toml; a --config-file that is missing says so here
            settings = read_pyproject(path)
        if table is not None:
            inner = settings.get(table)
            settings = inner if isinstance(inner, dict) else {}
        if key in settings:
            return settings[key], path
    return None


def python_preference(
    given: str | None,
    start: str,
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
) -> str | None:
    """uv's python-preference, in uv's order: the command line's (``given``), then
    ``UV_MANAGED_PYTHON``, ``UV_NO_MANAGED_PYTHON``, ``UV_PYTHON_PREFERENCE``, then the
    settings files from ``start``. ``None``: uv's default."""
    from anyvenv.interpreter.discovery import checked_preference

    if given is not None:
        return given
    if env_flag(environ, "UV_MANAGED_PYTHON"):
        return "only-managed"
    if env_flag(environ, "UV_NO_MANAGED_PYTHON"):
        return "only-system"
    if environ.get("UV_PYTHON_PREFERENCE"):
        return checked_preference(environ["UV_PYTHON_PREFERENCE"], "UV_PYTHON_PREFERENCE")
    found = setting("python-preference", settings_files(start, uv_args, environ, cwd))
    if found is None:
        return None
    value, path = found
    return checked_preference(value if isinstance(value, str) else repr(value), path)


def preference_where_env_is(env: str, environ: Mapping[str, str], cwd: str) -> str | None:
    """uv's python-preference for a base of ``env``: the settings where the env is (a
    project's env: its project's)."""
    return python_preference(None, os.path.dirname(os.path.abspath(env)), (), environ, cwd)


def python_downloads_and_source(
    start: str, uv_args: Sequence[str], environ: Mapping[str, str], cwd: str
) -> tuple[str, str]:
    """uv's python-downloads and where it was read, in uv's order:
    ``--no-python-downloads``/``--allow-python-downloads`` in ``uv_args``, then
    ``UV_PYTHON_DOWNLOADS``, then the settings files from ``start``; else ``automatic``."""
    from anyvenv.pythons.ondemand import parse_downloads

    for flag, value in (
        ("--no-python-downloads", "never"),
        ("--allow-python-downloads", "automatic"),
    ):
        if has_flag(uv_args, flag):
            return value, flag
    if environ.get("UV_PYTHON_DOWNLOADS"):
        source = "UV_PYTHON_DOWNLOADS"
        return parse_downloads(environ[source], source), source
    found = setting("python-downloads", settings_files(start, uv_args, environ, cwd))
    if found is None:
        return "automatic", "uv's default"
    setting_value, path = found
    source = f"python-downloads in {path}"
    if setting_value not in ("automatic", "auto", "manual", "never"):  # as uv's settings take it
        from anyvenv.errors import UsageError

        raise UsageError(
            f"{source} ({setting_value!r}) is not one of uv's values",
            "use automatic, manual or never",
        )
    return parse_downloads(setting_value, source), source


def configured_link_mode(
    start: str,
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
    for_pip: bool = False,
) -> LinkChoice | None:
    """The ``link-mode`` of uv's settings files from ``start`` (under ``--link-mode`` and
    ``UV_LINK_MODE``, which :func:`~anyvenv.project.linkmode.forced_link_mode` reads first),
    as the user's choice; ``None`` where none sets it. ``for_pip``: for ``uv pip``, which
    takes a ``link-mode`` of the ``pip`` table (``[tool.uv.pip]``) of any of the files before
    a top-level one."""
    from anyvenv.project.linkmode import LinkChoice, parse_link_mode

    key, found = _setting_for(
        "link-mode", settings_files(start, uv_args, environ, cwd), for_pip=for_pip
    )
    if found is None:
        return None
    value, path = found
    mode = parse_link_mode(value if isinstance(value, str) else repr(value), f"{key} in {path}")
    return LinkChoice(mode, f"asked for ({key} in {path})")


def compiles_bytecode(
    start: str,
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
    for_pip: bool = False,
) -> bool:
    """Whether uv compiles what it installs to bytecode, as uv decides it: the last of
    ``--compile-bytecode``/``--compile`` and ``--no-compile-bytecode``/``--no-compile``, else
    ``UV_COMPILE_BYTECODE``, else ``compile-bytecode`` in uv's settings (``[tool.uv.pip]``'s
    first, for ``uv pip``)."""
    said: bool | None = None
    for arg in uv_args:
        if arg in ("--compile-bytecode", "--compile"):
            said = True
        elif arg in ("--no-compile-bytecode", "--no-compile"):
            said = False
    if said is not None:
        return said
    if environ.get("UV_COMPILE_BYTECODE"):
        return env_flag(environ, "UV_COMPILE_BYTECODE")
    files = settings_files(start, uv_args, environ, cwd)
    _, found = _setting_for("compile-bytecode", files, for_pip=for_pip)
    return found is not None and found[0] is True


def reinstalls(
    start: str,
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
    for_pip: bool = False,
) -> bool | set[str]:
    """What uv reinstalls, as uv combines it: everything (``True``), else the normalized names
    of these packages. ``--reinstall``/``--no-reinstall`` decide alone; names given with
    ``--reinstall-package`` add to those of uv's settings (``reinstall``,
    ``reinstall-package``; ``[tool.uv.pip]``'s first, for ``uv pip``), or are all of them
    when the settings reinstall everything."""
    from anyvenv.envbuild.dists import normalize_name

    said = reinstall_in_args(uv_args)
    if isinstance(said, bool):
        return said
    files = settings_files(start, uv_args, environ, cwd)
    _, everything = _setting_for("reinstall", files, for_pip=for_pip)
    if everything is not None and isinstance(everything[0], bool):
        if everything[0]:
            return True
        return said or set()  # (uv: `reinstall = false` drops the file's package names)
    _, packages = _setting_for("reinstall-package", files, for_pip=for_pip)
    named = packages[0] if packages is not None and isinstance(packages[0], list) else []
    return (said or set()) | {normalize_name(name) for name in named if isinstance(name, str)}


def reruns_every_sync(
    start: str, uv_args: Sequence[str], environ: Mapping[str, str], cwd: str
) -> bool:
    """Whether uv's settings make every ``uv sync`` do work though nothing changed: they
    reinstall or upgrade packages (``reinstall``, ``reinstall-package``, ``upgrade``,
    ``upgrade-package``), unless the command line says not to."""
    if reinstalls(start, uv_args, environ, cwd):
        return True
    if has_flag(uv_args, "--no-upgrade"):
        return False
    files = settings_files(start, uv_args, environ, cwd)
    upgrade = setting("upgrade", files)
    packages = setting("upgrade-package", files)
    return (upgrade is not None and upgrade[0] is True) or bool(packages and packages[0])


def _setting_for(
    key: str, files: Sequence[str], *, for_pip: bool
) -> tuple[str, tuple[object, str] | None]:
    """``key`` as :func:`setting` finds it, for ``uv pip`` (``for_pip``) in the ``pip`` table
    (``[tool.uv.pip]``) of any of the files before a top-level one; and the name it was
    found under (``pip.KEY`` or ``KEY``)."""
    found = setting(key, files, table="pip") if for_pip else None
    if found is not None:
        return f"pip.{key}", found
    return key, setting(key, files)


def preference_in_args(uv_args: Sequence[str]) -> str | None:
    """The python-preference a uv command line gives: ``--managed-python``,
    ``--no-managed-python``, ``--python-preference X``."""
    from anyvenv.interpreter.discovery import checked_preference

    if has_flag(uv_args, "--managed-python"):
        return "only-managed"
    if has_flag(uv_args, "--no-managed-python"):
        return "only-system"
    given = option_value(uv_args, "--python-preference")
    return checked_preference(given, "--python-preference") if given else None


def _uv_table_of_readable(pyproject: str) -> dict[str, Any] | None:
    """The ``[tool.uv]`` table of ``pyproject``; ``None`` when it has none or cannot be read."""
    from anyvenv.errors import UsageError
    from anyvenv.project.model import read_pyproject, uv_table

    try:
        return uv_table(read_pyproject(pyproject))
    except UsageError:
        return None
