"""``uv run``'s command line as ``anyvenv run`` reads it: which of uv's options take a value
(so that ``anyvenv run --extra dev pytest`` finds the command where uv would), and which are
``run``'s own, not ``uv sync``'s (``-m``, ``--with``, ``--exact``...).

The tables follow uv 0.13; ``tests/test_runargs.py`` checks them against the ``--help`` of
the uv anyvenv depends on, so a uv that adds an option fails a test instead of a user.
"""

from __future__ import annotations

from anyvenv.project.uvrules import env_flag

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op run splits its arguments here before anything else is imported
    from collections.abc import Mapping, Sequence

# Every option of `uv run` (global ones included) whose value is the next word.
VALUE_OPTIONS = frozenset(
    {
        "--allow-insecure-host",
        "--cache-dir",
        "--color",
        "--config-file",
        "--config-setting",
        "--config-settings-package",
        "--default-index",
        "--directory",
        "--env-file",
        "--exclude-newer",
        "--exclude-newer-package",
        "--extra",
        "--extra-index-url",
        "--find-links",
        "--fork-strategy",
        "--group",
        "--index",
        "--index-strategy",
        "--index-url",
        "--keyring-provider",
        "--link-mode",
        "--max-recursion-depth",
        "--no-binary-package",
        "--no-build-isolation-package",
        "--no-build-package",
        "--no-editable-package",
        "--no-extra",
        "--no-group",
        "--no-sources-package",
        "--only-group",
        "--package",
        "--prerelease",
        "--prerelease-package",
        "--preview-features",
        "--project",
        "--python",
        "--python-fetch",
        "--python-platform",
        "--python-preference",
        "--refresh-package",
        "--reinstall-package",
        "--resolution",
        "--upgrade-group",
        "--upgrade-package",
        "--with",
        "--with-editable",
        "--with-requirements",
    }
)
VALUE_SHORT = frozenset("CPfipw")  # -C -P -f -i -p -w

# `uv run` options that `uv sync` does not take, and what they ask of anyvenv.
LAYERED_WITH_VALUE = frozenset(
    {"--with", "--with-editable", "--with-requirements", "--env-file", "--max-recursion-depth"}
)
NO_ENV_FILE = "--no-env-file"  # nothing for uv to do: no env file is read
# `uv sync` options that `uv run` refuses (`--inexact` aside: what run does anyway). Passed on
# to the sync they would half work: `--dry-run` changed nothing and the command still ran.
SYNC_ONLY = frozenset(
    {
        "--check",
        "--dry-run",
        "--no-install-local",
        "--no-install-package",
        "--no-install-project",
        "--no-install-workspace",
        "--only-install-local",  # (the --only-install ones are hidden from uv sync --help)
        "--only-install-package",
        "--only-install-project",
        "--only-install-workspace",
        "--output-format",
    }
)
ALONE_FLAGS = frozenset({"--isolated", "--no-project", "--no_workspace"})  # (uv's alias)
# uv run's hidden flags with nothing to pass on: the sync's output is shown anyway
SHOWN_ANYWAY = frozenset({"--show-resolution"})
EXACTNESS = {"--exact": True, "--inexact": False, "--no-exact": False}  # (uv's alias)
TARGET_FLAGS = {
    "-m": "module",
    "--module": "module",
    "-s": "script",
    "--script": "script",
    "--gui-script": "gui_script",
}


def takes_value(arg: str) -> bool:
    """Whether the word after ``arg`` is its value (``--extra x``, ``-w x``, ``-qw x``)."""
    if arg.startswith("--"):
        return arg in VALUE_OPTIONS
    if not arg.startswith("-") or len(arg) < 2:
        return False
    for index, char in enumerate(arg[1:], start=1):
        if char in VALUE_SHORT:
            return index == len(arg) - 1  # -wgamma carries its value
    return False


class RunArgs:
    """``anyvenv run``'s uv options, sorted by who takes them.

    ``sync_args`` go to ``uv sync`` (with ``--inexact`` added unless ``--exact`` was asked for:
    ``uv run`` leaves extraneous packages alone); ``layered`` are options only ``uv run`` can
    carry out on top of the synced env (``--with``, ``--env-file``); ``alone`` is set when uv
    must run the command without the project env (``--isolated``, ``--no-project``).
    """

    __slots__ = (
        "alone",
        "env_file_variable",
        "env_files",
        "exact",
        "gui_script",
        "layered",
        "module",
        "script",
        "sync_args",
    )

    def __init__(self) -> None:
        self.sync_args: list[str] = []
        self.layered: list[str] = []
        self.env_file_variable = False  # UV_ENV_FILE: uv run reads the file itself
        self.env_files: list[str] = []  # the env files uv run will read (none: --no-env-file)
        self.alone = False
        self.exact = False
        self.module = False
        self.script = False
        self.gui_script = False

    @property
    def needs_uv_run(self) -> bool:
        return bool(self.layered) or self.env_file_variable or self.alone


def read_run_args(uv_args: Sequence[str], environ: Mapping[str, str]) -> RunArgs:
    """Sort ``uv_args`` (as ``anyvenv run`` got them, anyvenv's own options taken out); a
    :class:`~anyvenv.errors.UsageError` when this run is nested too deep (see
    :func:`check_recursion`)."""
    check_recursion(uv_args, environ)
    result = RunArgs()
    exact: bool | None = None
    no_env_file = env_flag(environ, "UV_NO_ENV_FILE")
    index = 0
    while index < len(uv_args):
        arg = uv_args[index]
        name, joined, _ = arg.partition("=")
        value_follows = not joined and takes_value(arg)
        if value_follows and index + 1 == len(uv_args):
            _refuse_without_value(arg)  # (--inexact, added below, would be taken for it)
        words = uv_args[index : index + 2] if value_follows else [arg]
        index += len(words)
        if name in SYNC_ONLY or name == "--json":
            _refuse(name)
        if not arg.startswith("--") and arg.startswith("-") and len(arg) > 1:
            _read_short_cluster(arg, words[1:], result)
        elif name in LAYERED_WITH_VALUE:
            result.layered += words
            if name == "--env-file":
                for value in [arg[len(name) + 1 :]] if joined else words[1:]:
                    result.env_files += split_env_files(value)
        elif arg == NO_ENV_FILE:
            no_env_file = True
        elif arg in ALONE_FLAGS:
            result.alone = True
        elif arg in EXACTNESS:
            exact = EXACTNESS[arg]
        elif arg in SHOWN_ANYWAY:
            pass
        elif arg in TARGET_FLAGS:
            setattr(result, TARGET_FLAGS[arg], True)
        else:
            result.sync_args += words
    result.env_file_variable = bool(environ.get("UV_ENV_FILE")) and not no_env_file
    if no_env_file:
        result.env_files = []
    elif not result.env_files and result.env_file_variable:  # (the option wins, as in uv)
        result.env_files = split_env_files(environ["UV_ENV_FILE"])
    if env_flag(environ, "UV_ISOLATED") or env_flag(environ, "UV_NO_PROJECT"):
        result.alone = True
    result.exact = bool(exact)
    if not result.exact:
        result.sync_args.append("--inexact")
    return result


def split_env_files(value: str) -> list[str]:
    """The env files one ``--env-file`` or ``UV_ENV_FILE`` value names, as uv splits it: at
    whitespace, a backslash keeping the next character (``my\\ vars.env``)."""
    paths: list[str] = []
    current: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.isspace():
            if current:
                paths.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        paths.append("".join(current))
    return paths


RECURSION_DEPTH_ENV = "UV_RUN_RECURSION_DEPTH"
MAX_RECURSION_DEPTH_ENV = "UV_RUN_MAX_RECURSION_DEPTH"
DEFAULT_MAX_RECURSION_DEPTH = 100  # uv's


def recursion_depth(environ: Mapping[str, str]) -> int:
    """How deep this run is nested in runs (``uv run``'s and ours): ``UV_RUN_RECURSION_DEPTH``,
    which each run gives the command it runs one above its own."""
    return _count(RECURSION_DEPTH_ENV, environ.get(RECURSION_DEPTH_ENV) or "0")


def check_recursion(uv_args: Sequence[str], environ: Mapping[str, str]) -> None:
    """As ``uv run``: refuse to go on when runs have been nested more than
    ``--max-recursion-depth`` (``UV_RUN_MAX_RECURSION_DEPTH``, default 100) times: a command
    that runs itself through ``anyvenv run`` (a script whose first line is
    ``#!/usr/bin/env -S anyvenv run``) would otherwise never stop."""
    from anyvenv.project.uvrules import option_value

    given = option_value(uv_args, "--max-recursion-depth")
    source = "--max-recursion-depth" if given else MAX_RECURSION_DEPTH_ENV
    raw = given or environ.get(MAX_RECURSION_DEPTH_ENV)
    limit = _count(source, raw) if raw else DEFAULT_MAX_RECURSION_DEPTH
    depth = recursion_depth(environ)
    if depth > limit:
        from anyvenv.errors import UsageError

        raise UsageError(
            f"`anyvenv run` was recursively invoked {depth} times which exceeds the limit of "
            f"{limit}",
            "a command that runs itself through anyvenv run? (raise the limit with "
            f"--max-recursion-depth or {MAX_RECURSION_DEPTH_ENV})",
        )


def _count(source: str, raw: str) -> int:
    if raw.isascii() and raw.isdecimal():
        return int(raw)
    from anyvenv.errors import UsageError

    raise UsageError(
        f"invalid value for {source}: {raw!r} is not a whole number", f"fix or unset {source}"
    )


def _refuse(name: str) -> None:
    from anyvenv.errors import UsageError

    if name == "--json":
        raise UsageError(
            "anyvenv run has no --json (what it runs prints its own output)",
            "use 'anyvenv sync --json' for a report of the sync",
        )
    raise UsageError(
        f"{name} is an option of uv sync, not of uv run",
        f"uv run refuses it too; to sync that way, use 'anyvenv sync {name}'",
    )


def _refuse_without_value(arg: str) -> None:
    """As uv run: an option given last that needs a value, before anything is done."""
    from anyvenv.errors import UsageError

    shown = f"-{arg[-1]}" if not arg.startswith("--") else arg  # (-qw: the w wants it)
    raise UsageError(
        f"{shown} needs a value, and none was given",
        f"give one after it ({shown} VALUE), before the command",
    )


def _read_short_cluster(arg: str, value: Sequence[str], result: RunArgs) -> None:
    """``-m``, ``-s``, ``-w X``/``-wX`` and clusters of them with uv's short flags (``-qm``)."""
    kept = ""
    for position, char in enumerate(arg[1:], start=1):
        if char in VALUE_SHORT:
            rest = arg[position + 1 :]
            own_value = [rest] if rest else list(value)
            if char == "w":
                result.layered += ["--with", *own_value]
            else:
                result.sync_args += ["-" + char, *own_value]
            break
        if char == "m":
            result.module = True
        elif char == "s":
            result.script = True
        else:
            kept += char
    if kept:
        result.sync_args.append("-" + kept)
