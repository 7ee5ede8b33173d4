"""``anyvenv pip SUBCOMMAND [ARGS...]``: ``uv pip`` against the project env."""

from __future__ import annotations

import argparse

from anyvenv.cli.uvargs import OwnOptions, pass_through

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable

OWN = OwnOptions(with_value=frozenset(), flags=frozenset(), command_follows=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "subcommand",
        nargs="*",
        metavar="SUBCOMMAND",
        help="a 'uv pip' subcommand and its arguments (install, uninstall, list, freeze, ...)",
    )
    pass_through(parser, OWN)


# ``uv pip`` subcommands that resolve only: uv picks the interpreter, and a ``--python``
# inserted here would be written into the output's header (``uv pip compile``)
RESOLVE_ONLY = frozenset({"compile"})
# ``uv pip`` subcommands that read an env and change nothing: on a project with no env yet,
# plain uv pip says there is none (anyvenv makes none just to show it empty)
READ_ONLY = frozenset({"list", "freeze", "show", "tree", "check"})
# uv's global options that move the project (and so the env) uv pip acts on
LOCATING_OPTIONS = ("--directory", "--project")


def run(args: argparse.Namespace) -> int:
    import os

    from anyvenv.errors import CopiedPointer, NotAProject, UsageError
    from anyvenv.project.pip import BUILDING_PIP_COMMANDS, run_pip, targets_another_env
    from anyvenv.project.prepare import EnvLeftAlone
    from anyvenv.project.session import SyncOptions
    from anyvenv.project.uvcall import MUTATING_PIP_COMMANDS, exec_uv

    words = pip_words(args)
    if not words:
        raise UsageError("no 'uv pip' subcommand given", "e.g. 'anyvenv pip list'")
    from anyvenv.cli.uvargs import refuse_empty_paths

    refuse_empty_paths(words[: words.index("--")] if "--" in words else words)
    locating = locating_args(words)
    subcommand = words[0]
    try:
        if subcommand not in RESOLVE_ONLY and not targets_another_env(
            words, os.environ, os.getcwd(), locating
        ):
            if subcommand in READ_ONLY or "--dry-run" in words:
                from anyvenv.project.runenv import project_has_env

                # no env to read: as plain uv pip, making none (one that does not run is
                # refused below, as for a command that changes it)
                if not project_has_env(locating, os.getcwd(), os.environ):
                    return exec_uv(["pip", *words], os.environ)
            from anyvenv.cli.output import tell_notes
            from anyvenv.cli.sync import mirror_progress

            options = SyncOptions(  # (no on_warning: uv pip says nothing of version files)
                uv_args=tuple(locating),
                on_mirror_progress=mirror_progress(words),
                on_shadow_note=shadow_notes(words),
                on_anothers_env=shadow_notes(words),
            )
            result = run_pip(words, options)
            if result.uv_exit_code != 0:  # (uv pip's own output stays as uv's otherwise)
                tell_notes(result.notes)
            if result.uv_exit_code < 0:  # (killed: uv said nothing)
                import sys

                from anyvenv.cli.sync import uv_failure

                print(f"anyvenv: {uv_failure(result.uv_exit_code)}", file=sys.stderr)
            return result.uv_exit_code
    except CopiedPointer:
        raise  # (plain uv pip would follow it to the other project's env)
    except (NotAProject, EnvLeftAlone):
        pass  # no project, or one uv does not manage
    # as plain uv pip, on the env it finds (the one named, VIRTUAL_ENV, .venv above); anyvenv
    # makes none, but installs through a shadow where uv cannot install into it in place
    if subcommand in MUTATING_PIP_COMMANDS and "--dry-run" not in words:
        code = _through_shadow(words)
        if code is not None:
            return code
    # and what uv builds where chmod fails (pip install -e .) gets the build shim
    if subcommand in BUILDING_PIP_COMMANDS:
        from anyvenv.project.buildshim import named_dirs, with_build_shim

        shimmed = with_build_shim(os.environ, named_dirs(words[1:], os.getcwd()))
        return exec_uv(["pip", *words], shimmed)
    return exec_uv(["pip", *words], os.environ)


def _through_shadow(words: list[str]) -> int | None:
    """uv pip's exit code, where it ran through the shadow of the env it acts on (see
    :mod:`anyvenv.project.barepip`); ``None`` where plain uv pip is to run."""
    import os

    from anyvenv.cli.sync import mirror_progress
    from anyvenv.project.barepip import pip_on_env, run_bare_pip

    target = pip_on_env(words, os.environ, os.getcwd())
    if target is None:
        return None
    return run_bare_pip(
        target, os.environ, os.getcwd(), mirror_progress(words), shadow_notes(words)
    )


def shadow_notes(words: list[str]) -> Callable[[str], None] | None:
    """What tells the lines about a shadow env on stderr: nothing under ``-q``."""
    from anyvenv.cli.output import tell_notes
    from anyvenv.cli.sync import quiet_in

    return None if quiet_in(words) else lambda note: tell_notes([note])


def locating_args(words: list[str]) -> list[str]:
    """The ``--directory``/``--project`` options among ``words`` (before a ``--``), as
    ``uv`` takes them anywhere on its command line."""
    found: list[str] = []
    for index, word in enumerate(words):
        if word == "--":
            break
        name, joined, _ = word.partition("=")
        if name in LOCATING_OPTIONS:
            found += [word] if joined else words[index : index + 2]
    return found


def pip_words(args: argparse.Namespace) -> list[str]:
    """uv pip's own arguments, in the order given (a ``--`` among them kept)."""
    if args.separated:
        return [*args.uv_args, "--", *args.command]
    return [*args.uv_args, *args.command]
