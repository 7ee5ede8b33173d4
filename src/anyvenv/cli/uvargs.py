"""Command lines that mix anyvenv's options with uv's: ours are taken out, the rest goes to uv
unchanged and in order (argparse alone would reorder unknown options and their values)."""

from __future__ import annotations

from anyvenv.project.uvrules import unclustered

# the commands that stand for uv's: they refuse uv's global variables as uv would
AS_UV_COMMANDS = frozenset({"venv", "sync", "run", "add", "remove", "lock", "pip", "python"})

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op sync splits its arguments here before argparse is imported
    import argparse
    from collections.abc import Callable, Sequence
    from types import SimpleNamespace


class OwnOptions:
    """The options anyvenv reads itself; everything else is uv's."""

    __slots__ = ("command_follows", "flags", "short_letters", "uv_takes_value", "with_value")

    def __init__(
        self,
        with_value: frozenset[str],
        flags: frozenset[str],
        command_follows: bool = False,
        uv_takes_value: Callable[[str], bool] | None = None,
    ) -> None:
        self.with_value = with_value
        self.flags = flags
        self.command_follows = command_follows  # `run`: the first non-option word starts it
        # `run`: uv's options whose value is the next word, so that word does not start the
        # command; without it, a `--` anywhere means the command follows the `--`
        self.uv_takes_value = uv_takes_value
        self.short_letters = "".join(
            name[1] for name in (*with_value, *flags) if len(name) == 2 and name[0] == "-"
        )

    def _takes_value(self, arg: str) -> str | None:
        for name in self.with_value:
            if arg == name:
                return name
        return None

    def _is_own_joined(self, arg: str) -> bool:
        return any(
            arg.startswith(name + "=") or (len(name) == 2 and arg.startswith(name) and len(arg) > 2)
            for name in self.with_value
        )

    def split(self, argv: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
        """(ours, uv's, command) from ``argv``."""
        ours: list[str] = []
        passed: list[str] = []
        command: list[str] = []
        command_follows = self.command_follows and (
            self.uv_takes_value is not None or "--" not in argv
        )
        index = 0
        while index < len(argv):
            arg = argv[index]
            if arg == "--":
                command = list(argv[index + 1 :])
                break
            if command_follows and (arg == "-" or not arg.startswith("-")):
                command = list(argv[index:])
                break
            split = unclustered(arg, self.short_letters) if self.short_letters else None
            if split is not None:  # `-qp 3.12`: uv's -q, our -p
                passed.append(split[0])
                arg = split[1]
            if arg in self.flags or arg in ("-h", "--help") or self._is_own_joined(arg):
                ours.append(arg)
            elif self._takes_value(arg) is not None:
                ours.append(arg)
                if index + 1 < len(argv):
                    ours.append(argv[index + 1])
                    index += 1
            elif (
                command_follows
                and self.uv_takes_value is not None
                and self.uv_takes_value(arg)
                and index + 1 < len(argv)
            ):
                passed += argv[index : index + 2]
                index += 1
            else:
                passed.append(arg)
            index += 1
        return ours, passed, command


def pass_through(parser: argparse.ArgumentParser, own: OwnOptions) -> None:
    """Make ``parser`` parse only our options; uv's land in ``args.uv_args`` and, for ``run``,
    the command in ``args.command``."""
    from types import MethodType

    original = parser.parse_known_args

    def parse_known_args(
        self: argparse.ArgumentParser,
        args: Sequence[str] | None = None,
        namespace: argparse.Namespace | None = None,
    ) -> tuple[argparse.Namespace, list[str]]:
        ours, passed, command = own.split(list(args or []))
        parsed, extra = original(ours, namespace)
        refuse_empty_paths(passed + extra)
        parsed.uv_args = passed + extra
        parsed.command = command
        parsed.separated = "--" in (args or [])
        return parsed, []

    setattr(parser, "parse_known_args", MethodType(parse_known_args, parser))  # noqa: B010


# uv's options whose value is a path: uv refuses an empty one (clap's "a value is required")
PATH_VALUED = frozenset({"--directory", "--project", "--config-file", "--cache-dir"})


def nonempty_path(name: str) -> Callable[[str], str]:
    """An argparse ``type`` for uv's path option ``name``: its value, refused where empty."""

    def checked(value: str) -> str:
        if value:
            return value
        from anyvenv.errors import UsageError

        raise UsageError(
            f"{name} was given an empty value", f"pass a path to {name}, or leave it out"
        )

    return checked


def refuse_empty_paths(uv_args: Sequence[str]) -> None:
    """Refuse an empty value of uv's path options in ``uv_args`` (``--project ''``,
    ``--directory=``) as uv does, rather than read it as the working directory."""
    for index, arg in enumerate(uv_args):
        name, equals, value = arg.partition("=")
        if name not in PATH_VALUED:
            continue
        if not equals:
            if index + 1 >= len(uv_args):
                continue  # (no value at all: uv says so)
            value = uv_args[index + 1]
        nonempty_path(name)(value)


def describe_passthrough(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "uv_options",
        nargs="*",
        metavar="UV_OPTION",
        help=f"any other option goes to {what} unchanged",
    )


# uv's global options, which uv takes before its subcommand too (``uv --directory D sync``)
GLOBAL_WITH_VALUE = frozenset(
    {
        "--directory",
        "--project",
        "--config-file",
        "--cache-dir",
        "--color",
        "--python-preference",
        "--allow-insecure-host",
        "--preview-features",
    }
)
GLOBAL_FLAGS = frozenset(
    {
        "-q",
        "--quiet",
        "-v",
        "--verbose",
        "-n",
        "--no-cache",
        "--offline",
        "--no-config",
        "--no-offline",
        "--native-tls",
        "--no-native-tls",
        "--system-certs",
        "--no-system-certs",
        "--no-color",
        "--no-installer-metadata",
        "--no-progress",
        "--managed-python",
        "--no-managed-python",
        "--no-python-downloads",
        "--preview",
        "--no-preview",
    }
)
# the commands that take uv's options; ``pip`` and ``python`` take them after their own
# subcommand
_TAKE_UV_OPTIONS = frozenset({"venv", "sync", "run", "add", "remove", "lock", "pip", "python"})
_WITH_SUBCOMMAND = frozenset({"pip", "python"})


def _counted(arg: str) -> bool:
    """``-qq``, ``-vvv``: uv's counted -q and -v given together."""
    return len(arg) > 2 and arg[0] == "-" and arg[1] in "qv" and set(arg[1:]) <= {"q", "v"}


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """``anyvenv --directory D sync`` read as uv reads ``uv --directory D sync``: uv's global
    options given before a command that takes uv's options are moved after it (after the
    subcommand of ``pip`` and ``python``), where anyvenv reads them. Anything else is left as
    it is, for argparse to answer."""
    index = 0
    while index < len(argv):
        name, equals, _ = argv[index].partition("=")
        if name in GLOBAL_WITH_VALUE:
            index += 1 if equals else 2
        elif argv[index] in GLOBAL_FLAGS or _counted(argv[index]):
            index += 1
        else:
            break
    if index == 0 or index >= len(argv):
        return list(argv)
    if argv[index] not in _TAKE_UV_OPTIONS:
        if argv[index].startswith("-"):
            return list(argv)  # (an option of anyvenv's own, or a wrong one: argparse says)
        from anyvenv.errors import UsageError

        raise UsageError(
            f"{argv[0]} is one of uv's options, which 'anyvenv {argv[index]}' does not take",
            "leave it out (uv's options go with venv, sync, run, add, remove, lock, pip and "
            "python)",
        )
    moved, command = list(argv[:index]), argv[index]
    rest = list(argv[index + 1 :])
    if command in _WITH_SUBCOMMAND and rest and not rest[0].startswith("-"):
        return [command, rest[0], *moved, *rest[1:]]
    return [command, *moved, *rest]


def last_wins(pairs: dict[str, str]) -> type:
    """An argparse action for a flag that sets its dest and clears its pair's (``pairs``:
    each dest and the other of its pair): of the two the last given wins, as in uv (clap's
    ``overrides_with``: ``--clear --no-clear``, ``--managed-python --no-managed-python``)."""
    import argparse

    class LastWins(argparse.Action):
        def __call__(
            self, parser: object, namespace: object, values: object, option: object = None
        ) -> None:
            setattr(namespace, self.dest, True)
            setattr(namespace, pairs[self.dest], False)

    return LastWins


def add_last_wins_pair(
    parser: argparse.ArgumentParser, first: tuple[str, str], second: tuple[str, str]
) -> None:
    """Two flags (each ``(option, help)``) of which the last given wins, as in uv; both
    ``False`` when neither is given."""
    dests = [option.lstrip("-").replace("-", "_") for option, _ in (first, second)]
    action = last_wins({dests[0]: dests[1], dests[1]: dests[0]})
    for option, help_text in (first, second):
        parser.add_argument(option, action=action, nargs=0, default=False, help=help_text)


def preference_given(args: argparse.Namespace | SimpleNamespace) -> str | None:
    """The python-preference the command line gives (``--managed-python``,
    ``--no-managed-python``, ``--python-preference``); a usage error for two at once, as
    uv's."""
    from anyvenv.errors import UsageError

    given = [
        name
        for name, value in (
            ("--managed-python", args.managed_python),
            ("--no-managed-python", args.no_managed_python),
            ("--python-preference", args.python_preference),
        )
        if value
    ]
    if len(given) > 1:
        raise UsageError(
            f"{given[0]} cannot be used with {given[1]}", "give one of them, or neither"
        )
    if args.managed_python:
        return "only-managed"
    if args.no_managed_python:
        return "only-system"
    return str(args.python_preference) if args.python_preference else None


def refuse_both_download_flags(args: argparse.Namespace | SimpleNamespace) -> None:
    """``--no-python-downloads`` with ``--allow-python-downloads``: a usage error, as uv's."""
    if args.no_python_downloads and args.allow_python_downloads:
        from anyvenv.errors import UsageError

        raise UsageError(
            "--no-python-downloads cannot be used with --allow-python-downloads",
            "give one of them, or neither",
        )
