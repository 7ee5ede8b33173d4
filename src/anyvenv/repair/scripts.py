"""What ``anyvenv check`` finds in an environment's bin/ besides its interpreter: console
scripts that cannot run (no exec bit, a python that is gone or another env's, cut short or
emptied), and other tools' links in bin/ that cannot be followed."""

from __future__ import annotations

import enum
import errno
import os
import re
from pathlib import Path

from anyvenv.envbuild.shebang import HEAD_BYTES, Shebang, parse_shebang
from anyvenv.fs import is_virtual_environment
from anyvenv.fs.paths import same_directory
from anyvenv.record import record
from anyvenv.repair.envstate import INTERPRETER_NAME
from anyvenv.repair.findings import Code, Finding, error, warning
from anyvenv.repair.looking import NUL_CHECK_BYTES, asks_at_once, for_each
from anyvenv.repair.reinstall import LOST_AND_REINSTALL, package_of, reinstall_for

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable


# activation scripts; and hidden files: an installer's temp files (uv's .tmpXXXXXX) and
# anyvenv's own, which are no one's console scripts
_NOT_SCRIPTS = ("activate", "deactivate", "Activate.ps1", "pydoc.bat", ".")


@record
class ScriptState:
    """A script in bin/ whose interpreter is dead or belongs to another environment."""

    path: Path
    shebang: Shebang
    replacement: str  # the env's interpreter it should run


def _is_environment_python(path: str) -> bool:
    return is_virtual_environment(os.path.dirname(os.path.dirname(path)))


def check_scripts(env: Path, findings: list[Finding]) -> list[ScriptState]:
    bin_dir = env / "bin"
    states: list[ScriptState] = []
    try:
        names = sorted(os.listdir(bin_dir))
    except OSError:
        return states
    own_prefix = os.fspath(bin_dir) + os.sep
    installed: dict[str, Path] | None = None  # scripts of this env's packages: their dist-info
    own_in_any_case = _own_in_any_case(bin_dir)
    names = [n for n in names if not (INTERPRETER_NAME.match(n) or n.startswith(_NOT_SCRIPTS))]
    looks = for_each(_look_at, [bin_dir / name for name in names], asks_at_once(bin_dir))
    for name, (kind, head) in zip(names, looks, strict=True):
        path = bin_dir / name
        if kind is _Kind.LINK:
            _check_bin_link(path, findings)
            continue
        if kind is not _Kind.FILE:
            continue
        shebang = None if head is None else parse_shebang(head)
        damage = None if head is None else _script_damage(head, shebang)
        if damage is not None:
            if installed is None:
                installed = _installed_scripts(env)
            # (a user's own file: left as it is; a package's data script has no known shape,
            # only its bytes all NUL tell)
            if name in installed and (
                damage == _ALL_NUL or name in _entry_point_scripts(installed[name])
            ):
                findings.append(_damaged_script_finding(env, path, installed[name], damage))
                continue
        if shebang is None:
            if _is_empty(path):
                if installed is None:
                    installed = _installed_scripts(env)
                if name in installed:  # (a user's own empty file: left as it is)
                    findings.append(_empty_script_finding(env, path, installed[name]))
            continue
        if not os.access(path, os.X_OK):  # chmod ignored or failing where it was installed
            if installed is None:
                installed = _installed_scripts(env)
            if name in installed:  # (a user's own file may be so on purpose: left as it is)
                mode = _mode_of(path)
                why = (  # exec bits, and still not runnable: the mount says noexec
                    exec_bits_but_noexec(mode) if on_noexec(path) else f"mode {mode}"
                )
                findings.append(
                    error(
                        Code.SCRIPT_NOT_EXECUTABLE,
                        f"bin/{name} is not executable ({why}): running it gives "
                        "'Permission denied'",
                        path,
                        mode=mode,
                    )
                )
        if not os.path.isabs(shebang.interpreter):
            continue
        interpreter = os.path.normpath(shebang.interpreter)
        if interpreter.startswith(own_prefix) or own_in_any_case(interpreter):
            continue  # runs this env's own interpreter: the interpreter checks cover it
        base_name = os.path.basename(interpreter)
        is_python = bool(INTERPRETER_NAME.match(base_name))
        replacement = os.fspath(bin_dir / base_name) if is_python else ""
        if not is_python and os.path.isfile(bin_dir / base_name):
            replacement = os.fspath(bin_dir / base_name)  # a moved env's own tool (node...)
        if not os.path.exists(interpreter):
            if not replacement:  # a user's script for another program: not ours to rewrite
                findings.append(
                    warning(
                        Code.SCRIPT_INTERPRETER_MISSING,
                        f"bin/{name} runs {shebang.interpreter}, which does not exist (not a "
                        "python script: left as it is)",
                        path,
                        interpreter=shebang.interpreter,
                    )
                )
                continue
            findings.append(
                error(
                    Code.SCRIPT_INTERPRETER_MISSING,
                    f"bin/{name} runs {shebang.interpreter}, which does not exist",
                    path,
                    interpreter=shebang.interpreter,
                )
            )
            states.append(ScriptState(path, shebang, replacement))
        elif (
            is_python
            and _is_environment_python(interpreter)
            and not same_directory(os.path.dirname(os.path.dirname(interpreter)), env)
        ):
            if installed is None:
                installed = _installed_scripts(env)
            if name not in installed:  # put there by hand to run that env: it does
                findings.append(
                    warning(
                        Code.SCRIPT_INTERPRETER_FOREIGN,
                        f"bin/{name} runs {shebang.interpreter}, the python of another "
                        "environment (no package of this one installed it: left as it is)",
                        path,
                        interpreter=shebang.interpreter,
                    )
                )
                continue
            findings.append(
                error(
                    Code.SCRIPT_INTERPRETER_FOREIGN,
                    f"bin/{name}, installed by a package of this environment, runs "
                    f"{shebang.interpreter}, the python of another environment, which does not "
                    "see this one's packages",
                    path,
                    interpreter=shebang.interpreter,
                )
            )
            states.append(ScriptState(path, shebang, replacement))
    return states


def _own_in_any_case(bin_dir: Path) -> Callable[[str], bool]:
    """Whether an interpreter (a normalized absolute path) is in ``bin_dir`` spelled in
    another case, which is ``bin_dir`` where case is not told apart (FAT, SMB: the env of
    a project reached as ``P1`` runs scripts written as ``p1``'s, and FUSE gives each
    spelling an inode number of its own). Each spelling is looked at once (a listing of
    the parent of each part that differs: a round trip on a share)."""
    own = os.fspath(bin_dir)
    folded = own.casefold()
    answers: dict[str, bool] = {}

    def own_in_any_case(interpreter: str) -> bool:
        folder = os.path.dirname(interpreter)
        if folder == own or folder.casefold() != folded:
            return False
        if folder not in answers:
            answers[folder] = same_directory(folder, own)
        return answers[folder]

    return own_in_any_case


class _Kind(enum.Enum):
    LINK = "link"
    FILE = "file"  # (a link to one is LINK)
    OTHER = "other"


def _look_at(path: Path) -> tuple[_Kind, bytes | None]:
    """What an entry of bin/ is, and the first bytes of a file (see :func:`_read_head`)."""
    if path.is_symlink():
        return _Kind.LINK, None
    if not path.is_file():
        return _Kind.OTHER, None
    return _Kind.FILE, _read_head(path)


def _read_head(path: Path) -> bytes | None:
    """The first bytes of a file in bin/: a console script whole (its shebang is read from
    them too); ``None`` where it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(HEAD_BYTES)
    except OSError:
        return None


# Every console-script writer (uv, pip's distlib, pypa/installer) writes this line after the
# shebang, then imports, ``if __name__ == "__main__":`` and, last, ``sys.exit(FUNC())``.
_GENERATED_FIRST_LINE = b"# -*- coding: utf-8 -*-\n"
_GENERATED_LAST_LINE = re.compile(rb"\n[ \t]+sys\.exit\([^\n]*\)\n\Z")
_EXEC_LINE_START = b"'''exec'"  # the second line of the /bin/sh form


_ALL_NUL = "its bytes are all NUL: the size kept, not the contents"


def _script_damage(head: bytes, shebang: Shebang | None) -> str | None:
    """How a script of bin/ (``head``: its first bytes) shows it lost its bytes, or
    ``None``: its start all NUL bytes (a crash of the machine kept its size, not its bytes),
    or a console script of an installer's known shape that ends before its last line (cut
    short: it fails with a SyntaxError or runs nothing). An empty file is told apart by its
    caller; other programs' scripts, and files longer than any console script, are not
    judged by their shape."""
    if not head:
        return None
    if not head[:NUL_CHECK_BYTES].strip(b"\0"):
        return _ALL_NUL
    if len(head) >= HEAD_BYTES:
        return None
    if shebang is None:
        within = head.startswith(b"#!") or b"#!".startswith(head)  # (no newline after it)
        return "cut short: it ends within its #! line" if within else None
    body = head[shebang.header_length :]
    if not body:  # (no program has a script of its #! line alone: it would run nothing)
        return f"cut short: {len(head)} bytes, nothing after its #! line"
    if not shebang.sh_exec and os.path.basename(shebang.interpreter) == "sh":
        # the /bin/sh form (envbuild.shebang) whose exec line or closing quote is not all there
        if body.startswith(_EXEC_LINE_START) or _EXEC_LINE_START.startswith(body):
            return "cut short: it ends within its #! lines"
        return None
    if not (shebang.sh_exec or INTERPRETER_NAME.match(os.path.basename(shebang.interpreter))):
        return None  # (another program's script: its shape is not known)
    if _GENERATED_FIRST_LINE.startswith(body):
        return f"cut short: {len(head)} bytes, nothing after its #! line"
    if body.startswith(_GENERATED_FIRST_LINE) and not _GENERATED_LAST_LINE.search(body):
        return f"cut short: {len(head)} bytes, ending before its last line, sys.exit(...)"
    return None


def _entry_point_scripts(dist_info: Path) -> set[str]:
    """The console and GUI scripts the package of ``dist_info`` declares (its
    ``entry_points.txt``): the ones an installer writes from its template, whose shape is
    known. A package's data scripts (setuptools' ``scripts=``) are its own text."""
    try:
        text = (dist_info / "entry_points.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    names: set[str] = set()
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section in ("console_scripts", "gui_scripts") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def _damaged_script_finding(env: Path, path: Path, dist_info: Path, damage: str) -> Finding:
    """A console script that the package of ``dist_info`` installed whose bytes were lost
    (see :func:`_script_damage`): running it fails, or does nothing."""
    package = package_of(dist_info.name)
    return error(
        Code.SCRIPT_DAMAGED,
        f"bin/{path.name} of {package} is damaged ({damage}): running it fails or does "
        f"nothing {LOST_AND_REINSTALL.format(reinstall_for(env, dist_info))}",
        path,
        package=package,
    )


def _check_bin_link(path: Path, findings: list[Finding]) -> None:
    """A link in bin/ besides the interpreter's (another tool's: nodeenv's ``node``, a
    ``python3.X-config``) that cannot be read (sshfs of a VM's host folder: EACCES) or leads
    nowhere: the command it names fails. Not repair's to make again: a warning."""
    from anyvenv.fs.outcome import errno_name

    try:
        target = os.readlink(path)
    except OSError as exc:
        findings.append(
            warning(
                Code.BIN_LINK_BROKEN,
                f"bin/{path.name} is a symlink that cannot be read ({errno_name(exc.errno)}): "
                "running it fails (the tool that put it there must place a file instead, as "
                "links do not work on this filesystem)",
                path,
                readlink=errno_name(exc.errno),
            )
        )
        return
    try:
        os.stat(path)
    except OSError as exc:
        why = (
            "does not exist"
            if exc.errno == errno.ENOENT
            else f"cannot be reached ({errno_name(exc.errno)})"
        )
        findings.append(
            warning(
                Code.BIN_LINK_BROKEN,
                f"bin/{path.name} points to {target}, which {why}: running it fails",
                path,
                target=target,
                stat=errno_name(exc.errno),
            )
        )


def on_noexec(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is on a filesystem mounted noexec."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_NOEXEC)
    except (OSError, AttributeError):
        return False


def exec_bits_but_noexec(mode: str) -> str:
    """Why a file of ``mode`` (its exec bits set) cannot be run: the words check and run
    say it in."""
    return f"it has its exec bits (mode {mode}) but its filesystem runs no file (noexec)"


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _empty_script_finding(env: Path, path: Path, dist_info: Path) -> Finding:
    """A console script of 0 bytes that the package of ``dist_info`` installed: running it
    does nothing, and says nothing."""
    package = package_of(dist_info.name)
    return error(
        Code.SCRIPT_EMPTY,
        f"bin/{path.name} of {package} is empty (0 bytes): running it does nothing "
        f"{LOST_AND_REINSTALL.format(reinstall_for(env, dist_info))}",
        path,
        package=package,
    )


def _installed_scripts(env: Path) -> dict[str, Path]:
    """The names in bin/ that the RECORD of a package installed in ``env`` lists, and the
    ``.dist-info`` of that package."""
    from anyvenv.envbuild.dists import record_paths

    found: dict[str, Path] = {}
    bin_dir = os.path.normpath(env / "bin")  # (the sites below are env's by their text too)
    for site in env.glob("lib/python*/site-packages"):
        for record_file in site.glob("*.dist-info/RECORD"):
            try:
                listed = record_paths(record_file.read_bytes())
            except OSError:
                continue
            for relative in listed:
                if os.path.isabs(relative):  # written where the env was made: its bin/
                    if os.path.basename(os.path.dirname(relative)) == "bin":
                        found[os.path.basename(relative)] = record_file.parent
                    continue
                placed = os.path.normpath(os.path.join(site, relative))
                if os.path.dirname(placed) == bin_dir:
                    found[os.path.basename(placed)] = record_file.parent
    return found


def _mode_of(path: Path) -> str:
    try:
        return f"{os.stat(path).st_mode & 0o7777:04o}"
    except OSError:
        return "unknown"
