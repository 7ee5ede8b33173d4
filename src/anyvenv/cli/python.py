"""``anyvenv python install|list|find|uninstall|dir``: managed CPython builds."""

from __future__ import annotations

import argparse
import sys

from anyvenv.cli.output import add_json_flag, tell_warnings
from anyvenv.errors import OptionWords

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from anyvenv.errors import InterpreterNotFound
    from anyvenv.project.model import PythonChoice
    from anyvenv.pythons.executables import Executables
    from anyvenv.pythons.installer import ExecutableNames, InstallResult

# how the hints of an install name python install's options
INSTALL_WORDS = OptionWords.command_line("install_dir", "offline", "reinstall")


def _add_install_dir(parser: argparse.ArgumentParser, given: str = "") -> None:
    parser.add_argument(
        "-i",
        "--install-dir",
        metavar="DIR",
        help="where Pythons are installed (default: $ANYVENV_PYTHON_INSTALL_DIR, "
        f"else $XDG_DATA_HOME/anyvenv/python, else ~/.local/share/anyvenv/python){'; ' if given else ''}{given}",
    )


def _add_preference(parser: argparse.ArgumentParser, managed: str) -> None:
    """uv's ``--managed-python`` and ``--no-managed-python`` (else its python-preference
    from ``UV_PYTHON_PREFERENCE`` and the like, and its settings files, is followed)."""
    from anyvenv.cli.uvargs import add_last_wins_pair

    add_last_wins_pair(
        parser,
        ("--managed-python", f"{managed} (uv's only-managed preference)"),
        ("--no-managed-python", "the interpreters on PATH only (uv's only-system preference)"),
    )


_UV_FLAGS_WITHOUT_EFFECT = (
    "--no-cache",
    "-n",
    "--native-tls",
    "--no-native-tls",
    "--system-certs",
    "--no-system-certs",
    "--no-color",
    "--no-installer-metadata",
    "--preview",
    "--no-preview",
)
_UV_VALUES_WITHOUT_EFFECT = (
    "--color",
    "--allow-insecure-host",
    "--cache-dir",
    "--preview-features",
)


def _add_uv_globals(parser: argparse.ArgumentParser, *, quiet: bool, offline: bool) -> None:
    """uv's global options, which ``uv python ...`` takes too: ``--directory``, ``--project``,
    ``--no-config`` and ``--config-file`` move or stop the reading of uv's settings and
    version files; the others change nothing here and are taken as uv takes them (shown in
    no help: they are uv's)."""
    from anyvenv.cli.uvargs import nonempty_path

    hidden = argparse.SUPPRESS
    group = parser.add_argument_group("uv's global options")
    group.add_argument(
        "--directory",
        metavar="DIR",
        type=nonempty_path("--directory"),
        help="read uv's settings and version files from DIR",
    )
    group.add_argument("--project", metavar="DIR", type=nonempty_path("--project"), help=hidden)
    group.add_argument("--no-config", action="store_true", help="read no uv settings files")
    group.add_argument(
        "--config-file",
        metavar="FILE",
        type=nonempty_path("--config-file"),
        help="read uv's settings from FILE alone",
    )
    for flag in _UV_FLAGS_WITHOUT_EFFECT:
        group.add_argument(flag, action="store_true", dest="uv_without_effect", help=hidden)
    group.add_argument("--no-progress", action="store_true", help=hidden)  # (install's bar)
    for option in _UV_VALUES_WITHOUT_EFFECT:
        checked = nonempty_path(option) if option == "--cache-dir" else str
        group.add_argument(
            option, action="append", type=checked, dest="uv_values_without_effect", help=hidden
        )
    group.add_argument("-v", "--verbose", action="count", dest="uv_without_effect", help=hidden)
    from anyvenv.interpreter.discovery import PREFERENCES

    group.add_argument(  # (list and find follow it; the others take it as uv does)
        "--python-preference", choices=PREFERENCES, metavar="PREFERENCE", help=hidden
    )
    for flag in ("--no-python-downloads", "--allow-python-downloads"):  # (list: shown or not)
        group.add_argument(flag, action="store_true", help=hidden)
    if quiet:
        group.add_argument("-q", "--quiet", action="count", help=hidden)
    if offline:
        group.add_argument("--offline", action="store_true", help=hidden)
        group.add_argument("--no-offline", action="store_true", help=hidden)
    taken = [
        "--project DIR",
        "--python-preference P",
        "--no-python-downloads",
        "--allow-python-downloads",
        "--no-progress",
        "-v/--verbose",
        *(["-q/--quiet"] if quiet else []),
        *(["--offline", "--no-offline"] if offline else []),
        *_UV_FLAGS_WITHOUT_EFFECT,
        *(f"{option} VALUE" for option in _UV_VALUES_WITHOUT_EFFECT),
    ]
    parser.epilog = (
        f"Also taken, as uv's global options: {', '.join(taken)} (see the README for what "
        "each does here; most change nothing)."
    )


def _uv_settings_args(args: argparse.Namespace) -> tuple[str, ...]:
    """The options that say which settings files uv reads, and its python-downloads."""
    config_file = getattr(args, "config_file", None)
    return (
        *(("--no-config",) if getattr(args, "no_config", False) else ()),
        *(("--config-file", config_file) if config_file else ()),
        *(("--no-python-downloads",) if getattr(args, "no_python_downloads", False) else ()),
        *(("--allow-python-downloads",) if getattr(args, "allow_python_downloads", False) else ()),
    )


def _here(args: argparse.Namespace) -> str:
    """Where uv reads settings and version files from: the working directory, moved by
    ``--directory`` (``UV_WORKING_DIR``) and ``--project`` (``UV_PROJECT``)."""
    import os

    from anyvenv.project.uvrules import existing_dirs

    directory, project = getattr(args, "directory", None), getattr(args, "project", None)
    return existing_dirs(directory, project, os.getcwd(), os.environ)[1]


def _preference_here(args: argparse.Namespace) -> str | None:
    """The python-preference of these options, else uv's variables and settings files here."""
    import os

    from anyvenv.cli.uvargs import preference_given
    from anyvenv.project.uvsettings import python_preference

    return python_preference(
        preference_given(args), _here(args), _uv_settings_args(args), os.environ, os.getcwd()
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(
        dest="python_command", metavar="SUBCOMMAND", parser_class=type(parser)
    )
    sub.required = True

    install = sub.add_parser(
        "install",
        help="download and install a CPython build",
        description="Download a python-build-standalone build, verify its sha256, and install "
        "it so that it runs on the filesystem it lands on (links become hard links or copies "
        "where symlinks fail). Offline: ANYVENV_PYTHON_INSTALL_MIRROR (or --mirror) replaces "
        "the GitHub release base URL (file:// and directories work); "
        "ANYVENV_PYTHON_DOWNLOADS_JSON names a JSON file of downloads in the format of uv's "
        "download-metadata.json that replaces the built-in release table (else uv's "
        "UV_PYTHON_DOWNLOADS_JSON_URL, when it names a local file). Downloads are cached "
        "in $ANYVENV_CACHE_DIR/python-downloads (default $XDG_CACHE_HOME/anyvenv/python-downloads, "
        "else ~/.cache/anyvenv/python-downloads).",
    )
    install.add_argument(
        "versions",
        nargs="*",
        metavar="VERSION",
        help="versions: 3.12, 3.12.4, 3.13t (free-threaded); several are checked first, then "
        "installed in turn; none: every version in the .python-versions or .python-version "
        "from here up, else the newest Python 3 (as uv)",
    )
    _add_install_dir(install)
    install.add_argument(
        "--mirror",
        metavar="URL",
        help="replaces https://github.com/astral-sh/python-build-standalone/releases/download "
        "(file:// and plain directories work; default: $ANYVENV_PYTHON_INSTALL_MIRROR, else "
        "uv's $UV_PYTHON_INSTALL_MIRROR)",
    )
    install.add_argument(
        "-r",
        "--reinstall",
        action="store_true",
        help="replace an existing install of that version",
    )
    from anyvenv.cli.uvargs import add_last_wins_pair

    add_last_wins_pair(
        install,
        ("--offline", "use no network: only the download cache and file:// mirrors (also "
         "UV_OFFLINE)"),
        ("--no-offline", "use the network after all (against an earlier --offline or UV_OFFLINE)"),
    )  # fmt: skip
    names = install.add_mutually_exclusive_group()
    names.add_argument(
        "--no-bin",
        action="store_true",
        help="make no python3.X in the bin dir (default: made, as uv does; also "
        "UV_PYTHON_INSTALL_BIN=0)",
    )
    names.add_argument(
        "--default",
        action="store_true",
        help="make python3 and python in the bin dir too (one version only)",
    )
    install.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="replace names in the bin dir that are not anyvenv's (uv's, yours)",
    )
    install.add_argument("-q", "--quiet", action="count", help="print nothing on success")
    _add_uv_globals(install, quiet=False, offline=False)
    add_json_flag(install)

    listing = sub.add_parser(
        "list",
        help="list Pythons as uv python list: managed installs (anyvenv's and uv's), the "
        "interpreters on PATH, and the builds that can be installed",
    )
    listing.add_argument(
        "request",
        nargs="?",
        help="list only what matches: a version (3.12, >=3.11, 3.13t), an install name, a "
        "path or an executable name",
    )
    _add_install_dir(listing, "with it: the installs there only (not uv's, nor PATH's)")
    shown = listing.add_mutually_exclusive_group()
    shown.add_argument(
        "--available",
        "--only-downloads",
        action="store_true",
        help="list only the builds that can be installed",
    )
    shown.add_argument(
        "--only-installed",
        action="store_true",
        help="list only the installed Pythons (managed and on PATH)",
    )
    listing.add_argument(
        "--all-versions",
        action="store_true",
        help="every patch release of the builds that can be installed, not only the newest "
        "of each minor version",
    )
    listing.add_argument(
        "--show-urls", action="store_true", help="show where a build would be downloaded from"
    )
    _add_preference(listing, "managed installs and downloads only")
    _add_uv_globals(listing, quiet=True, offline=True)
    add_json_flag(listing)

    find = sub.add_parser(
        "find",
        help="print the interpreter a request resolves to, as uv python find: managed installs "
        "(anyvenv's and uv's, newest first), then PATH",
    )
    find.add_argument(
        "request",
        nargs="?",
        help="a version (default, as uv's: the .python-version from here up, else the "
        "project's requires-python, else the newest)",
    )
    _add_install_dir(find)
    _add_preference(find, "managed installs only")
    _add_uv_globals(find, quiet=True, offline=True)
    add_json_flag(find)

    uninstall = sub.add_parser("uninstall", help="remove installed Pythons")
    uninstall.add_argument(
        "requests", nargs="*", metavar="VERSION", help="versions (3.12) or install names"
    )
    uninstall.add_argument("--all", action="store_true", help="remove every installed Python")
    uninstall.add_argument("-q", "--quiet", action="count", help="print only what nothing matched")
    _add_install_dir(uninstall)
    _add_uv_globals(uninstall, quiet=False, offline=True)
    add_json_flag(uninstall)

    directory = sub.add_parser(
        "dir", help="print the directory Pythons are installed in (as uv python dir)"
    )
    directory.add_argument(
        "--bin",
        action="store_true",
        help="print the directory their executables are put in instead (ANYVENV_PYTHON_BIN_DIR, "
        "else UV_PYTHON_BIN_DIR, XDG_BIN_HOME, XDG_DATA_HOME/../bin, ~/.local/bin)",
    )
    _add_install_dir(directory)
    _add_uv_globals(directory, quiet=True, offline=True)


def run(args: argparse.Namespace) -> int:
    _here(args)  # a --directory or --project that is not there: refused, as uv refuses it
    from anyvenv.cli.uvargs import refuse_both_download_flags

    refuse_both_download_flags(args)
    command = {
        "install": _install,
        "list": _list,
        "find": _find,
        "uninstall": _uninstall,
        "dir": _dir,
    }[args.python_command]
    return command(args)


def _install(args: argparse.Namespace) -> int:
    from anyvenv.pythons.installer import check_installable

    if args.mirror is not None and not args.mirror.strip():
        from anyvenv.errors import UsageError

        raise UsageError(
            "the --mirror value is empty", "pass a URL or a directory, or leave --mirror out"
        )
    _check_downloads_allowed(args)
    requests, pinned_in = _install_requests(args.versions, args)
    if args.default and len(requests) > 1:
        from anyvenv.errors import UsageError

        raise UsageError(
            "--default names one version, and several are to be installed",
            "install them, then run 'anyvenv python install --default' with the one",
        )
    # as uv: a request with no build stops all of them, up front
    check_installable(requests, pinned_in)
    results: list[InstallResult] = []
    try:
        for version in requests:
            results.append(_install_one(args, version))
    except BaseException:
        if results:  # what was installed is said, also when a later install fails
            _report_installs(args, results)
        raise  # (and when none was, stdout stays empty, as every command's on an error)
    _report_installs(args, results)
    return 0


def _executable_names(args: argparse.Namespace) -> ExecutableNames | None:
    """The names to make in the bin dir, as uv: unless --no-bin or UV_PYTHON_INSTALL_BIN off."""
    import os

    from anyvenv.project.uvrules import env_flag
    from anyvenv.pythons.installer import ExecutableNames

    if args.no_bin:
        return None
    if os.environ.get("UV_PYTHON_INSTALL_BIN") and not env_flag(
        os.environ, "UV_PYTHON_INSTALL_BIN"
    ):
        if args.default:
            return ExecutableNames(default=True, force=args.force)  # (asked for by name)
        return None
    return ExecutableNames(default=args.default, force=args.force)


def _check_downloads_allowed(args: argparse.Namespace) -> None:
    """As ``uv python install``: none where uv's python-downloads is ``never``
    (``UV_PYTHON_DOWNLOADS``, else uv's settings files from here)."""
    import os

    from anyvenv.errors import AnyvenvError
    from anyvenv.project.uvsettings import python_downloads_and_source

    value, source = python_downloads_and_source(
        _here(args), _uv_settings_args(args), os.environ, os.getcwd()
    )
    if value == "never":  # (also spelled false or 0, as uv reads the variable)
        said = source if source.startswith("--") else f"{source} is never"
        raise AnyvenvError(
            f"Python downloads are not allowed ({said})",
            "set it to manual to allow explicit installs",
        )


def _report_installs(args: argparse.Namespace, results: list[InstallResult]) -> None:
    if args.json:  # a list, one document per version installed or found
        from anyvenv.cli.output import print_json

        print_json([result.to_json() for result in results])
    elif not args.quiet:
        for result in results:
            _print_installed(result)
        _warn_about_executables([r.executables for r in results if r.executables is not None])


def _warn_about_executables(made: list[Executables]) -> None:
    """On stderr (not with -q, as uv's warnings; --json has it all): names left alone, names
    not made, and a bin dir that is not on PATH."""
    import os

    from anyvenv.pythons.executables import on_path

    for names in made:
        if names.not_ours:
            listed = ", ".join(names.not_ours)
            print(
                f"anyvenv: warning: {listed} in {names.bin_dir} "
                f"{'is' if len(names.not_ours) == 1 else 'are'} not anyvenv's, so "
                f"{'it was' if len(names.not_ours) == 1 else 'they were'} left as "
                f"{'it is' if len(names.not_ours) == 1 else 'they are'}; --force replaces "
                f"{'it' if len(names.not_ours) == 1 else 'them'}",
                file=sys.stderr,
            )
        if names.problem:
            print(
                f"anyvenv: warning: python executables not made: {names.problem}", file=sys.stderr
            )
    linked = [names.bin_dir for names in made if names.linked]
    if linked and not on_path(linked[0], os.environ):
        import shlex

        print(
            f"anyvenv: warning: {linked[0]} is not on your PATH; to run the installed Python "
            f'executables by name: export PATH={shlex.quote(linked[0])}:"$PATH"',
            file=sys.stderr,
        )


def _install_requests(given: list[str], args: argparse.Namespace) -> tuple[list[str], str | None]:
    """The versions asked for, and the version file they came from; none asked for: every
    one in the nearest ``.python-versions`` or ``.python-version`` (as ``uv python
    install``, the first preferred), else any Python 3. A version file that names none
    (empty, or only comments and lines uv ignores) asks for nothing, as uv's: then nothing is
    installed."""
    if given:
        return given, None
    import os

    from anyvenv.errors import UsageError
    from anyvenv.project.model import find_version_file, version_file_requests
    from anyvenv.project.uvrules import uses_version_files

    if not uses_version_files(_uv_settings_args(args), os.environ):
        path = None  # as uv: --no-config (UV_NO_CONFIG) reads no version file either
    else:
        path = find_version_file(_here(args), names=(".python-versions", ".python-version"))
    try:
        pinned, ignored = version_file_requests(path) if path is not None else ([], [])
    except UsageError as exc:  # (its hint names venv's and sync's options)
        raise UsageError(exc.message, "fix or remove it, or pass the versions to install") from exc
    tell_warnings(ignored)
    if path is not None:
        _check_pins(pinned, path)
    if path is None:
        return ["3"], None
    if not pinned and not (args.quiet or args.json):
        print(f"{path} names no Python version: nothing to install", file=sys.stderr)
    return pinned, path


def _check_pins(pinned: list[str], path: str) -> None:
    """A pin that is no version is named with the file it came from (as one no build can be
    installed of is, by ``check_installable``)."""
    from anyvenv.errors import UsageError
    from anyvenv.interpreter.request import parse_request

    for request in pinned:
        try:
            names_a_version = parse_request(request).names_a_version
        except UsageError:
            names_a_version = False
        if not names_a_version:
            raise UsageError(
                f"{path} pins {request!r}, which is not a CPython version anyvenv installs",
                "pass the versions to install, or fix the file",
            )


def _install_one(args: argparse.Namespace, version: str) -> InstallResult:
    from anyvenv.cli.output import ProgressBar, progress_wanted, tell_waiting
    from anyvenv.pythons.installer import install_python

    shown = progress_wanted(args.no_progress) and not args.quiet and not args.json  # as sync's
    bar = ProgressBar(f"cpython {version}") if shown else None
    try:
        return install_python(
            version,
            install_dir=args.install_dir,
            mirror=args.mirror,
            reinstall=args.reinstall,
            progress=bar,
            offline=args.offline or (not args.no_offline and _offline_by_variable()),
            on_lock_wait=tell_waiting,
            executables=_executable_names(args),
            words=INSTALL_WORDS,
        )
    finally:
        if bar is not None:
            bar.close()


def _offline_by_variable() -> bool:
    import os

    from anyvenv.project.uvrules import env_flag

    return env_flag(os.environ, "UV_OFFLINE")


def _print_installed(result: InstallResult) -> None:
    """What was installed, on stderr as uv says it (stdout is for --json)."""
    made = result.executables
    names = (
        f"  executables: {', '.join(made.linked)} in {made.bin_dir} ({made.how})"
        if made is not None and made.linked
        else None
    )
    if result.status == "already installed":
        from anyvenv.pythons.installed import unrunnable_fix, why_not_runnable

        print(
            f"{result.install.name} is already installed at {result.install.path}", file=sys.stderr
        )
        executable = str(result.install.executable)
        why = why_not_runnable(executable)
        if why is not None:  # (made where no file is executable, or remounted noexec since)
            print(
                f"anyvenv: warning: its interpreter {executable} cannot be run ({why}): "
                f"{unrunnable_fix(executable, INSTALL_WORDS)}",
                file=sys.stderr,
            )
        else:
            print("  (use --reinstall to replace it)", file=sys.stderr)
        if names:
            print(names, file=sys.stderr)
        return
    verb = "Reinstalled" if result.status == "reinstalled" else "Installed"
    print(f"{verb} {result.install.name} in {result.seconds:.1f}s", file=sys.stderr)
    print(f"  interpreter: {result.install.executable}", file=sys.stderr)
    print(f"  links: {result.links} ({result.reason})", file=sys.stderr)
    if result.skipped:
        print(
            f"  skipped {len(result.skipped)} members: {', '.join(result.skipped[:3])}",
            file=sys.stderr,
        )
    if names:
        print(names, file=sys.stderr)
    if result.old_remains:
        print(f"anyvenv: warning: {result.old_remains}", file=sys.stderr)


def _list(args: argparse.Namespace) -> int:
    """As ``uv python list``: installed Pythons and the builds that can be installed (the
    newest patch of each minor version unless ``--all-versions``), newest first; an installed
    one shows its interpreter, one to download ``<download available>`` (or its URL)."""

    from anyvenv.cli.output import print_json
    from anyvenv.interpreter.request import parse_request
    from anyvenv.pythons.installed import resolve_install_dir
    from anyvenv.pythons.listing import ListScope, list_pythons

    install_dir = None if args.install_dir is None else str(resolve_install_dir(args.install_dir))
    scope = ListScope(
        installed=not args.available,
        # as uv's: the builds to download are listed where uv's python-downloads is automatic
        # (else only with --only-downloads)
        downloads=args.available or (not args.only_installed and _downloads_here(args)),
        install_dir=install_dir,
        preference=_preference_here(args) or "managed",
        every_patch=args.all_versions,
    )
    listing = list_pythons(parse_request(args.request), scope)
    rows = listing.rows
    for path, why in [] if args.quiet else listing.cannot_run:  # (as uv's warnings)
        print(
            f"anyvenv: warning: the managed Python at {path} cannot be run ({why}); left out",
            file=sys.stderr,
        )
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    if not rows and args.only_installed:
        where = f"installed in {install_dir}" if install_dir else "installed or on PATH"
        where = "installed (managed)" if scope.preference == "only-managed" else where
        print(f"no Pythons {where}", file=sys.stderr)
    width = max((len(row.key) for row in rows), default=0)
    for row in rows:
        if row.path is None:
            shown = row.url if args.show_urls else "<download available>"
        else:
            target = row.symlink
            shown = row.path if target is None else f"{row.path} -> {target}"
        print(f"{row.key:<{width}}    {shown}")
    return 0


def _downloads_here(args: argparse.Namespace) -> bool:
    """Whether uv's python-downloads is automatic for these options, its variables and the
    settings files here."""
    import os

    from anyvenv.project.uvsettings import python_downloads_and_source

    value, _ = python_downloads_and_source(
        _here(args), _uv_settings_args(args), os.environ, os.getcwd()
    )
    return value == "automatic"


def _without_a_build(error: InterpreterNotFound, request: str | None) -> InterpreterNotFound:
    """``error``, whose hint says to install ``request`` (or one that matches it), with a
    hint that says no build of it can be installed where none can (``python find 3.99``,
    ``python find '>=3.99'``)."""
    from anyvenv.pythons.sources import has_build

    suggests_install = any(
        words in (error.hint or "") for words in ("anyvenv python install", "install one that")
    )
    if request and suggests_install and not has_build(request):
        error.hint = (
            f"no build of {request} can be installed either (see 'anyvenv python list "
            "--available'): ask for another version"
        )
    return error


def _find(args: argparse.Namespace) -> int:
    """As ``uv python find``: the Python anyvenv (and ``anyvenv venv``) would use for the
    request, managed installs (anyvenv's and uv's, newest first) then PATH, as the python
    preference orders them; with ``--install-dir``, an install there only. With no request,
    the one uv would pick here: a version file's, the project's requires-python."""
    from anyvenv.cli.output import print_json
    from anyvenv.errors import InterpreterNotFound
    from anyvenv.pythons.installed import find_installed, installed_pythons

    if args.request is not None and not args.request.strip():
        from anyvenv.errors import UsageError

        raise UsageError(  # (as uv python find '')
            "the Python request is empty", "pass a version (3.12), or none for the default here"
        )
    here = None if args.request else _choice_here(args)
    request = args.request or (here.request.raw.strip() if here is not None else None) or None
    if args.install_dir is not None:
        try:
            found = find_installed(request, args.install_dir)
        except InterpreterNotFound as exc:
            raise _without_a_build(exc, request) from None
        data, executable = found.to_json(), str(found.executable)
    else:
        from anyvenv.fs.paths import same_file
        from anyvenv.interpreter.discovery import find_interpreter

        try:
            info = find_interpreter(request, _preference_here(args))  # (no option: names none)
        except InterpreterNotFound as exc:
            exc = _without_a_build(exc, request)
            raise (exc if here is None else here.named_in(exc)) from exc
        executable = info.executable
        from anyvenv.errors import NoHomeDirectory

        try:
            installs = installed_pythons()
        except NoHomeDirectory:  # (no home: no install of anyvenv's under it)
            installs = []
        ours = (item for item in installs if same_file(item.executable, executable))
        own = next(ours, None)  # one of anyvenv's installs: its record too
        data = (
            own.to_json()
            if own is not None
            else {"name": None, "version": info.version_text, "executable": executable}
        )
    if args.json:
        print_json(data)
    else:
        print(executable)
    return 0


def _choice_here(args: argparse.Namespace) -> PythonChoice:
    """What ``uv python find`` asks for with no request, in the working directory."""
    import os

    from anyvenv.errors import ProjectFileUnreadable, UsageError
    from anyvenv.project.model import python_for_venv

    try:
        found = python_for_venv(_here(args), os.environ, no_config=bool(args.no_config))
    except ProjectFileUnreadable:
        raise  # (its own way out)
    except UsageError as exc:  # a version file that cannot be read (its hint names --python)
        raise UsageError(exc.message, "fix or remove it, or pass the version to find") from exc
    tell_warnings([found.warning] if found.warning else [])
    tell_warnings(found.choice.warnings)
    return found.choice


def _dir(args: argparse.Namespace) -> int:
    if args.bin:
        import os

        from anyvenv.pythons.executables import bin_dir

        print(bin_dir(os.environ))
        return 0
    from anyvenv.pythons.installed import resolve_install_dir

    print(resolve_install_dir(args.install_dir))
    return 0


def _uvs_own(request: str) -> str | None:
    """Where only uv installed what ``request`` names (in its own install dir, not
    anyvenv's): a clause saying so and how uv removes it; ``None`` where uv has none."""
    import os

    from anyvenv.errors import UsageError
    from anyvenv.interpreter.discovery import uv_install_root
    from anyvenv.pythons.installed import installed_pythons, matching, resolve_install_dir

    uv_root = uv_install_root()
    try:
        if os.path.realpath(uv_root) == os.path.realpath(resolve_install_dir(None)):
            return None  # (a shared dir: what uv installed there was looked at already)
        found = matching(request, installed_pythons(uv_root))
    except (UsageError, OSError):
        return None
    if not found:
        return None
    import shlex

    names = ", ".join(item.name for item in found)
    whose, it = ("are uv's", "them") if len(found) > 1 else ("is uv's", "it")
    return (
        f" among anyvenv's; {names} in {uv_root} {whose}: "
        f"'uv python uninstall {shlex.quote(request)}' removes {it}"
    )


def _uninstall(args: argparse.Namespace) -> int:
    from anyvenv.cli.output import print_json, tell_waiting
    from anyvenv.errors import UsageError
    from anyvenv.pythons.installed import uninstall

    if bool(args.requests) == args.all:
        raise UsageError(
            "give the versions to uninstall, or --all" + (", not both" if args.all else ""),
            "e.g. 'anyvenv python uninstall 3.12'",
        )
    done = uninstall(args.requests, args.install_dir, every=args.all, on_lock_wait=tell_waiting)
    for request in done.unmatched:  # as uv: said, the others removed, and no error
        uvs = _uvs_own(request) if args.install_dir is None else None
        print(f"anyvenv: no installed Python matches {request!r}{uvs or ''}", file=sys.stderr)
    if args.all and not done.removed:
        print("anyvenv: no Pythons installed", file=sys.stderr)
    for name, why in done.left.items():
        print(
            f"anyvenv: note: files of {name} are still in use ({why}); the next 'anyvenv "
            "python install' or 'uninstall' removes them",
            file=sys.stderr,
        )
    if args.json:
        print_json(
            [
                {
                    "name": item.name,
                    "path": str(item.path),
                    "files_left": done.left.get(item.name),
                    "executables_removed": done.executables.get(item.name, []),
                }
                for item in done.removed
            ]
        )
    elif not args.quiet:
        for item in done.removed:
            names = done.executables.get(item.name)
            also = f"; removed {', '.join(names)} from the bin dir" if names else ""
            print(f"Uninstalled {item.name} ({item.path}){also}", file=sys.stderr)
    return 0
