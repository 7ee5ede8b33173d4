"""``anyvenv venv [PATH] [--python X] ...``.

The options are declared once, in :data:`VALUE_OPTIONS` and :data:`FLAGS`: argparse is built
from them, and :func:`quick_args` reads an ordinary command line from them without argparse
(whose import costs a good part of creating an environment). Anything unusual (help, an
abbreviated option, a value that looks like an option, a wrong choice) goes to argparse.
"""

from __future__ import annotations

from anyvenv.cli.output import add_json_flag, tell_warnings
from anyvenv.errors import OptionWords

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace

    from anyvenv.pythons.installer import InstallResult
    from anyvenv.pythons.ondemand import Downloads

    Arguments = argparse.Namespace | SimpleNamespace

DEFAULT_PATH = ".venv"
# how the hints of what venv calls name its options
WORDS = OptionWords.command_line(
    "python", "clear", "strategy", "seed", "offline", python_downloads="--allow-python-downloads"
)
STRATEGIES = ("auto", "symlink", "hardlink", "copy")

# option strings -> (destination, help)
VALUE_OPTIONS: dict[tuple[str, ...], tuple[str, str]] = {
    ("-p", "--python"): ("python", "a version (3.12), a path or an executable name"),
    ("--prompt",): (
        "prompt",
        "the prompt prefix when activated ('.': the working directory's name; default, as "
        "uv's: that with no PATH, else the env's directory name)",
    ),
    ("--strategy",): (
        "strategy",
        "how to place the interpreter (default: decided from a probe of the target)",
    ),
    ("--python-preference",): (
        "python_preference",
        "whether to prefer uv's and anyvenv's managed Pythons or the system's, as uv's "
        "(or UV_PYTHON_PREFERENCE, or python-preference in uv.toml or [tool.uv])",
    ),
    ("--directory",): (
        "directory",
        "work from DIR, as uv's --directory: PATH and .venv are relative to it (or UV_WORKING_DIR)",
    ),
    ("--project",): (
        "project",
        "look for the project from DIR instead of the working directory (or UV_PROJECT)",
    ),
    ("--config-file",): (
        "config_file",
        "the uv.toml to read python-preference from, alone (as uv's; or UV_CONFIG_FILE)",
    ),
}
# uv venv's options that change nothing here (anyvenv venv downloads nothing, uses no cache
# and no index (--seed installs the base's bundled pip), links no package files unseeded and
# prints no progress): taken, as a script passing them to every uv command expects, and left
# out of --help. Its other options are refused.
IGNORED_VALUE_OPTIONS = frozenset(
    {
        "--color",
        "--cache-dir",
        "--link-mode",
        "--refresh-package",
        "--allow-insecure-host",
        "--trusted-host",
        "--preview-features",
    }
)
# the index options of uv's --seed: handed to the uv that seeds where the base bundles no pip
# wheel (from the bundled wheels, no index is read and they change nothing)
SEED_INDEX_VALUE_OPTIONS = frozenset(
    {
        "--index",
        "--default-index",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--index-strategy",
        "--keyring-provider",
        "--exclude-newer",
        "--exclude-newer-package",
    }
)
SEED_INDEX_FLAGS = frozenset({"--no-index", "--offline", "--no-offline"})
# the values uv takes for those of its options that change nothing here (it refuses others)
IGNORED_CHOICES = {
    "--color": ("auto", "always", "never"),
    "--link-mode": ("clone", "copy", "hardlink", "symlink"),
}
IGNORED_FLAGS = frozenset(
    {
        "-v",
        "--verbose",
        "--no-cache",
        "-n",
        "--refresh",
        "--native-tls",
        "--no-native-tls",
        "--system-certs",
        "--no-system-certs",
        "--no-color",
        "--no-installer-metadata",
        "--preview",
        "--no-preview",
    }
)
# refused with a reason, not as unknown options
REFUSED = {
    "--force": "anyvenv never removes a directory that is not a virtual environment",
    "--relocatable": "an environment's scripts name its own path, as uv's without it do",
    "--allow-existing": "an environment is always built aside and renamed into place",
}
FLAGS: dict[tuple[str, ...], tuple[str, str]] = {
    ("--system-site-packages",): ("system_site_packages", "give access to the base's packages"),
    ("--seed",): (
        "seed",
        "install pip (and setuptools before Python 3.12) into the environment (or UV_VENV_SEED)",
    ),
    ("-c", "--clear"): ("clear", "replace an existing environment at PATH (or UV_VENV_CLEAR)"),
    ("--no-clear",): (
        "no_clear",
        "fail if an environment exists at PATH, without asking (on a terminal anyvenv asks "
        "whether to replace it, as uv venv does)",
    ),
    ("--no-python-downloads",): (
        "no_python_downloads",
        "never download a Python; without it one is downloaded where no installed Python "
        "answers the request, as uv venv does (UV_PYTHON_DOWNLOADS, python-downloads)",
    ),
    ("--allow-python-downloads",): (
        "allow_python_downloads",
        "download a Python where no installed one answers the request, whatever "
        "python-downloads says",
    ),
    ("--no-project",): (
        "no_project",
        "ignore the project around the working directory: its requires-python and env path "
        "(or UV_NO_PROJECT)",
    ),
    ("--managed-python",): (
        "managed_python",
        "use only managed Pythons (uv's and anyvenv's installs; or UV_MANAGED_PYTHON)",
    ),
    ("--no-managed-python",): (
        "no_managed_python",
        "use only Pythons that are not managed (or UV_NO_MANAGED_PYTHON)",
    ),
    ("--no-config",): (
        "no_config",
        "ignore .python-version files and uv's settings files (as uv's --no-config)",
    ),
    ("-q", "--quiet"): ("quiet", "print nothing on success"),
    ("--no-progress",): (
        "no_progress",
        "draw no progress bar for a Python downloaded (or UV_NO_PROGRESS)",
    ),
    ("--json",): ("json", "print a JSON document instead of text"),
}
DEFAULTS: dict[str, object] = {
    "strategy": "auto",
    "python": None,
    "python_preference": None,
    "prompt": None,
    "directory": None,
    "project": None,
    "config_file": None,
}


def _choices() -> dict[str, tuple[str, ...]]:
    from anyvenv.interpreter.discovery import PREFERENCES  # loaded by create anyway

    return {"strategy": STRATEGIES, "python_preference": PREFERENCES}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=None,
        help=f"where to create it (default: {DEFAULT_PATH}; run from a project's workspace root, "
        "its environment: UV_PROJECT_ENVIRONMENT, else .venv)",
    )
    import argparse

    from anyvenv.cli.uvargs import PATH_VALUED, last_wins, nonempty_path

    for names, (dest, help_text) in VALUE_OPTIONS.items():
        choices = _choices().get(dest)
        checked = nonempty_path(names[0]) if names[0] in PATH_VALUED else str
        parser.add_argument(
            *names, dest=dest, default=DEFAULTS[dest], choices=choices, type=checked,
            help=help_text,
        )  # fmt: skip

    ignored, refused = _ignoring_actions()
    for names, (dest, help_text) in FLAGS.items():
        if dest == "json":
            add_json_flag(parser)
        elif dest in OVERRIDING:
            parser.add_argument(*names, dest=dest, action=last_wins(OVERRIDING), nargs=0,
                                default=False, help=help_text)  # fmt: skip
        else:
            parser.add_argument(*names, dest=dest, action="store_true", help=help_text)
    hidden = argparse.SUPPRESS  # no help line, and no attribute (default) either
    for name in sorted(IGNORED_VALUE_OPTIONS):
        choices = IGNORED_CHOICES.get(name)
        checked = nonempty_path(name) if name in PATH_VALUED else str
        parser.add_argument(
            name, action=ignored, choices=choices, type=checked, default=hidden, help=hidden
        )
    for name in sorted(IGNORED_FLAGS):
        parser.add_argument(name, action=ignored, nargs=0, default=hidden, help=hidden)
    collected = _collecting_action()
    for name in sorted(SEED_INDEX_VALUE_OPTIONS):
        parser.add_argument(
            name, action=collected, dest="seed_index_args", default=hidden, help=hidden
        )
    for name in sorted(SEED_INDEX_FLAGS):
        parser.add_argument(
            name, action=collected, nargs=0, dest="seed_index_args", default=hidden, help=hidden
        )
    for name in REFUSED:
        parser.add_argument(name, action=refused, nargs=0, default=hidden, help=hidden)
    parser.epilog = (
        "Also taken, as uv venv takes them: for --seed where the base bundles no pip, uv's "
        f"index options ({', '.join(sorted(SEED_INDEX_VALUE_OPTIONS | SEED_INDEX_FLAGS))}); "
        "with no effect here: "
        f"{', '.join(sorted(IGNORED_VALUE_OPTIONS | IGNORED_FLAGS))}. Refused: "
        f"{', '.join(sorted(REFUSED))}."
    )


# flags of which the last given wins, as in uv (clap's overrides_with)
OVERRIDING = {
    "managed_python": "no_managed_python",
    "no_managed_python": "managed_python",
    "clear": "no_clear",
    "no_clear": "clear",
}


def _collecting_action() -> type:
    """An argparse action that keeps an option as given, with its value, in a list."""
    import argparse

    class Collected(argparse.Action):
        def __call__(
            self, parser: object, namespace: object, values: object, option: object = None
        ) -> None:
            given = list(getattr(namespace, self.dest, None) or [])
            given += [str(option)] + ([str(values)] if isinstance(values, str) else [])
            setattr(namespace, self.dest, given)

    return Collected


def _ignoring_actions() -> tuple[type, type]:
    """argparse actions: one that takes an option and keeps nothing, one that refuses it."""
    import argparse

    class Ignored(argparse.Action):
        def __call__(
            self, parser: object, namespace: object, values: object, option: object = None
        ) -> None:
            pass

    class Refused(argparse.Action):
        def __call__(
            self, parser: object, namespace: object, values: object, option: object = None
        ) -> None:
            from anyvenv.errors import UsageError

            raise UsageError(f"{option} is not supported: {REFUSED[str(option)]}", "leave it out")

    return Ignored, Refused


def _path_valued(name: str) -> bool:
    """One of uv's path options, whose empty value argparse refuses."""
    from anyvenv.cli.uvargs import PATH_VALUED

    return name in PATH_VALUED


def quick_args(argv: Sequence[str]) -> SimpleNamespace | None:
    """The arguments of an ordinary command line, as argparse would give them; ``None`` for
    anything argparse should answer (help, errors, abbreviations, ``--``, ``-pX`` forms)."""
    from types import SimpleNamespace

    values: dict[str, object] = dict(DEFAULTS)
    values.update({dest: False for dest, _ in FLAGS.values()})
    value_dest = {name: dest for names, (dest, _) in VALUE_OPTIONS.items() for name in names}
    flag_dest = {name: dest for names, (dest, _) in FLAGS.items() for name in names}
    path: str | None = None
    seed_index: list[str] = []  # as argparse's Collected keeps them
    index = 0
    while index < len(argv):
        arg = argv[index]
        name, equals, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in value_dest:
            if equals:
                value = attached
            elif index + 1 < len(argv):
                index += 1
                value = argv[index]
            else:
                return None
            if (value.startswith("-") and not equals) or (not value and _path_valued(name)):
                return None
            if value not in _choices().get(value_dest[name], (value,)):
                return None  # argparse refuses each wrong choice, even one given again later
            values[value_dest[name]] = value
        elif arg in flag_dest:
            values[flag_dest[arg]] = True
            if flag_dest[arg] in OVERRIDING:  # the last of the pair wins
                values[OVERRIDING[flag_dest[arg]]] = False
        elif name in IGNORED_VALUE_OPTIONS or name in SEED_INDEX_VALUE_OPTIONS:
            if not equals:
                index += 1
                if index >= len(argv) or argv[index].startswith("-"):
                    return None
                attached = argv[index]
            if attached not in IGNORED_CHOICES.get(name, (attached,)):
                return None
            if not attached and _path_valued(name):
                return None
            if name in SEED_INDEX_VALUE_OPTIONS:
                seed_index += [name, attached]
        elif arg in IGNORED_FLAGS:
            pass
        elif arg in SEED_INDEX_FLAGS:
            seed_index.append(arg)
        elif arg.startswith("-") or path is not None:
            return None
        else:
            path = arg
        index += 1
    if seed_index:
        values["seed_index_args"] = seed_index
    return SimpleNamespace(path=path, **values)


def moves_working_dir(args: Arguments) -> bool:
    """Whether the working directory or the project's is moved (options or uv's variables)."""
    import os

    moving = ("UV_WORKING_DIR", "UV_WORKING_DIRECTORY", "UV_PROJECT")
    return bool(args.directory or args.project or any(os.environ.get(name) for name in moving))


def enter_working_dir(args: Arguments) -> str:
    """Change to the working directory ``--directory`` (``UV_WORKING_DIR``) names, as uv
    does first thing; return where to look for the project (``--project``/``UV_PROJECT``)."""
    import os

    from anyvenv.project.uvrules import existing_dirs

    cwd = os.getcwd()
    workdir, start = existing_dirs(args.directory, args.project, cwd, os.environ)
    if workdir != cwd:
        os.chdir(workdir)
    return start


def run(args: Arguments) -> int:
    import os
    import sys

    from anyvenv.cli.output import tell_waiting
    from anyvenv.envbuild.create import make_environment
    from anyvenv.errors import InterpreterNotFound, UsageError
    from anyvenv.fs.paths import is_utf8
    from anyvenv.project.model import python_for_venv
    from anyvenv.project.uvrules import env_flag
    from anyvenv.project.uvsettings import python_preference

    if args.path == "":
        raise UsageError(
            "the environment path is empty", f"pass a path, or none for {DEFAULT_PATH}"
        )
    # uv venv's variables stand for its flags
    link_mode = os.environ.get("UV_LINK_MODE")  # (changes nothing here; uv refuses a bad one)
    if link_mode and link_mode not in IGNORED_CHOICES["--link-mode"]:
        raise UsageError(
            f"UV_LINK_MODE {link_mode!r} is not a link mode",
            f"use one of {', '.join(IGNORED_CHOICES['--link-mode'])}, or unset it",
        )
    clear = args.clear or (not args.no_clear and env_flag(os.environ, "UV_VENV_CLEAR"))
    interactive = not args.no_clear and sys.stdin.isatty() and sys.stderr.isatty()
    seed = args.seed or env_flag(os.environ, "UV_VENV_SEED")
    if env_flag(os.environ, "UV_VENV_RELOCATABLE"):
        raise UsageError(
            f"UV_VENV_RELOCATABLE is set: {REFUSED['--relocatable']}", "unset it for anyvenv venv"
        )
    no_project = args.no_project or env_flag(os.environ, "UV_NO_PROJECT")
    from anyvenv.cli.uvargs import refuse_both_download_flags

    refuse_both_download_flags(args)
    if args.python:  # (before the project is read: refused for what it is)
        from anyvenv.interpreter.discovery import refuse_unsupported
        from anyvenv.interpreter.request import parse_request

        refuse_unsupported(parse_request(args.python), words=WORDS)
    start = enter_working_dir(args)
    # as uv venv: --python, UV_PYTHON, .python-version, requires-python; the project's env path
    found = python_for_venv(
        start,
        os.environ,
        explicit=args.python,
        no_project=no_project,
        no_config=args.no_config,
    )
    warnings = [found.warning] if found.warning else []
    warnings += found.choice.warnings
    tell_warnings(warnings)
    python = args.python or found.choice.request.raw or None
    source = None if args.python or python is None else found.choice.source
    if source is not None:  # (as sync says it: the fix with --python, or where it was asked)
        from anyvenv.interpreter.discovery import refuse_unsupported

        try:
            refuse_unsupported(found.choice.request, words=WORDS)
        except InterpreterNotFound as exc:
            raise found.choice.named_in(exc) from None
    settings_start = found.project.workspace_root if found.project is not None else start
    settings_args = (
        *(("--no-config",) if args.no_config else ()),
        *(("--config-file", args.config_file) if args.config_file else ()),
    )
    from anyvenv.cli.uvargs import preference_given

    preference = python_preference(
        preference_given(args), settings_start, settings_args, os.environ, os.getcwd()
    )
    path = args.path or found.default_path or DEFAULT_PATH
    from anyvenv.fs.atomic import refuse_wrongly_taken

    refuse_wrongly_taken(path)  # (before it is looked up: smbnetfs then fails every call)
    _refuse_a_pointer(path)
    try:
        info = make_environment(
            path,
            python,
            words=WORDS,
            python_preference=preference,
            confirm_replace=ask_to_replace if interactive else None,
            # as uv venv: with no PATH, the working directory's name
            prompt=args.prompt if args.prompt is not None or args.path else ".",
            system_site_packages=args.system_site_packages,
            seed=seed,
            seed_index_args=tuple(getattr(args, "seed_index_args", None) or ()),
            clear=clear,
            strategy=args.strategy,
            on_lock_wait=tell_waiting,
            python_downloads=_downloads(args, settings_args, settings_start),
        )
    except InterpreterNotFound as exc:
        if source is None:
            raise
        raise found.choice.named_in(exc) from exc
    unreachable = (  # (python -m venv refuses such a path; uv venv's scripts break PATH)
        f"the activation scripts refuse this env: its path contains '{os.pathsep}', which "
        "cannot be one entry of PATH; run its bin/python directly, or make it at a path "
        f"without '{os.pathsep}'"
        if os.pathsep in info.path
        else None
    )
    not_utf8 = (  # (uv venv refuses such a path: uv pip and uv sync refuse the env made)
        "uv cannot work on this env: its path is not valid UTF-8 (uv pip and uv sync refuse "
        "it; its python runs); make it at a UTF-8 path for uv"
        if not is_utf8(info.path)
        else None
    )
    for warning in (
        found.incompatibility(info.version),
        info.old_env_remains,
        unreachable,
        not_utf8,
    ):
        if warning:
            warnings.append(warning)
            print(f"anyvenv: warning: {warning}", file=sys.stderr)
    if args.json:
        from anyvenv.cli.output import print_json

        print_json({**info.to_json(), "python_request_source": source, "warnings": warnings})
    elif not args.quiet:  # on stderr, as uv venv says it: stdout is for --json
        verb = "Replaced" if info.replaced else "Created"
        lines = [f"{verb} {info.path} with CPython {info.version} ({info.base_executable})"]
        if source is not None:
            lines.append(f"python: asked for by {source}")
        placement = info.strategy.value + (
            "" if info.libpython.value == "none" else f", libpython: {info.libpython.value}"
        )
        lines.append(f"interpreter: {placement} ({info.reason})")
        if info.seeded:  # as uv venv --seed lists what it installed
            lines.append(f"seeded: {', '.join(info.seeded)}")
        if unreachable is None:
            lines.append(f"Activate with: {activate_command(info.path, os.environ.get('SHELL'))}")
        print("\n".join(lines), file=sys.stderr)
    return 0


def _downloads(args: Arguments, settings_args: tuple[str, ...], start: str) -> Downloads:
    """How ``venv`` downloads a Python that no install answers: as uv venv, where uv's
    python-downloads is automatic (its default), with a bar on a terminal and a line said."""
    import os
    import sys

    from anyvenv.cli.output import ProgressBar, progress_wanted
    from anyvenv.project.uvrules import offline_wanted
    from anyvenv.project.uvsettings import python_downloads_and_source
    from anyvenv.pythons.ondemand import Downloads

    flags = (
        *(("--no-python-downloads",) if args.no_python_downloads else ()),
        *(("--allow-python-downloads",) if args.allow_python_downloads else ()),
        *settings_args,
    )
    cwd = os.getcwd()
    quiet = args.quiet or args.json
    bar = ProgressBar("cpython") if progress_wanted(args.no_progress) and not quiet else None

    def said(result: InstallResult) -> None:
        if not quiet and result.status != "already installed":  # (by a run at the same time)
            print(
                f"Installed {result.install.name} into {result.install.path.parent} "
                f"({result.seconds:.1f} s): no installed Python answered the request",
                file=sys.stderr,
            )

    return Downloads(
        lambda: python_downloads_and_source(start, flags, os.environ, cwd),
        offline=offline_wanted(getattr(args, "seed_index_args", None) or (), os.environ),
        progress=bar,
        progress_done=None if bar is None else bar.close,
        on_installed=said,
    )


def _refuse_a_pointer(path: str) -> None:
    """A project's ``.venv`` that is a pointer file (``anyvenv sync`` writes one where nothing
    can run; uv reads it as a redirect) is said as what it is, not as a file in the way."""
    import os

    from anyvenv.envbuild.pointerfile import read_pointer
    from anyvenv.errors import AnyvenvError

    if not os.path.isfile(path) or os.path.islink(path):
        return
    try:
        env = read_pointer(path)
    except AnyvenvError:
        return
    if env is not None:
        from anyvenv.errors import UsageError

        raise UsageError(
            f"{path} is a pointer file (as 'anyvenv sync' writes where nothing can run): the "
            f"environment it names is {env}",
            "run 'anyvenv sync' to make or update the project's, or pass another path",
        )


def ask_to_replace(path: str) -> bool:
    """Asked on a terminal, as uv venv asks, before an existing environment is replaced;
    Enter means yes, end of input no."""
    import sys

    from anyvenv.cli.output import ask

    answer = ask(f"A virtual environment already exists at {path}. Replace it? [Y/n] ")
    if not answer:
        sys.stderr.write("\n")
    return bool(answer) and answer.strip().lower() in ("", "y", "yes")


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def activate_command(env: str, shell: str | None) -> str:
    """The line that activates ``env`` in ``shell`` (``$SHELL``), quoted for it, as uv says."""
    import os

    name = os.path.basename(shell or "")
    scripts = os.path.join(env, "bin")
    if name == "fish":
        return "source " + _quoted(os.path.join(scripts, "activate.fish"), fish=True)
    if name in ("csh", "tcsh"):  # (a ! is history there, also inside quotes: \! is one)
        return "source " + _quoted(os.path.join(scripts, "activate.csh")).replace("!", "\\!")
    if name == "nu":
        path = os.path.join(scripts, "activate.nu")
        return "overlay use " + '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if name in ("pwsh", "powershell"):
        return ". '" + os.path.join(scripts, "activate.ps1").replace("'", "''") + "'"
    if name == "xonsh":  # a path that is not plain, as a Python literal in xonsh's @()
        path = os.path.join(scripts, "activate.xsh")
        return "source " + (path if all(char in _SAFE for char in path) else f"@({path!r})")
    return "source " + _quoted(os.path.join(scripts, "activate"))


def _quoted(text: str, fish: bool = False) -> str:
    """``text`` as one word of a POSIX shell (or fish, whose quotes take backslashes)."""
    if text and all(char in _SAFE for char in text):
        return text
    if fish:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + text.replace("'", "'\"'\"'") + "'"
