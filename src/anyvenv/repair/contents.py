"""What ``anyvenv check`` finds in an environment besides its interpreter: console scripts
that cannot run (no exec bit, a python that is gone or another env's, cut short or emptied),
other tools' links in bin/ that cannot be followed, packages installed half-way, with an
empty RECORD, or with files missing, cut short or of NUL bytes, and activation scripts and
editable installs that name where the env was before it was moved or copied."""

from __future__ import annotations

import enum
import errno
import os
import re
import shlex
from pathlib import Path

from anyvenv.envbuild.layout import site_packages_path
from anyvenv.envbuild.shebang import HEAD_BYTES, Shebang, parse_shebang
from anyvenv.fs import is_virtual_environment
from anyvenv.fs.paths import same_directory, same_file
from anyvenv.record import record
from anyvenv.repair.envstate import INTERPRETER_NAME
from anyvenv.repair.findings import Code, Finding, error, warning

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeVar

    R = TypeVar("R")
    T = TypeVar("T")

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
    looks = _each(_look_at, [bin_dir / name for name in names], asks_at_once(bin_dir))
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
_BLOCK = 4096
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
    if not head[:_BLOCK].strip(b"\0"):
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
    package = _package_of(dist_info.name)
    return error(
        Code.SCRIPT_DAMAGED,
        f"bin/{path.name} of {package} is damaged ({damage}): running it fails or does "
        f"nothing {_LOST_AND_REINSTALL.format(_reinstall_for(env, dist_info))}",
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
    package = _package_of(dist_info.name)
    return error(
        Code.SCRIPT_EMPTY,
        f"bin/{path.name} of {package} is empty (0 bytes): running it does nothing "
        f"{_LOST_AND_REINSTALL.format(_reinstall_for(env, dist_info))}",
        path,
        package=package,
    )


def _reinstall_for(env: Path, dist_info: Path) -> str:
    """How a package whose files are damaged is installed again (in a project, by sync)."""
    package = _package_of(dist_info.name)
    return _reinstall_commands(env, dist_info, f"anyvenv sync --reinstall-package {package}")


_LOST_AND_REINSTALL = (
    "(an install or copy stopped part-way, or the filesystem lost what was written); "
    "reinstall it ({})"
)
# where files are links this filesystem will not read: uv's link mode symlink made them
_UNREADABLE_AND_REINSTALL = (
    "(links into uv's cache, as its link mode symlink makes, which this filesystem will not "
    "read: the package cannot be imported); reinstall it with another link mode ({})"
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


_ACTIVATED_LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?VIRTUAL_ENV=(.+?)[ \t]*$", re.M)


def activated_dir(env: Path) -> str | None:
    """The directory ``bin/activate`` activates, when it names one literally (uv, venv,
    virtualenv and anyvenv write ``VIRTUAL_ENV='/path'``; a relocatable script names none)."""
    try:
        with open(env / "bin" / "activate", "rb") as handle:
            text = os.fsdecode(handle.read(1 << 16))  # (the path's bytes: as the env's are)
    except OSError:
        return None
    import shlex

    for found in _ACTIVATED_LINE.finditer(text):
        try:  # one shell word however it is quoted (a path with a quote is written '\'')
            words = shlex.split(found.group(1), comments=True)
        except ValueError:  # (unbalanced quotes: not a line that names a path)
            continue
        if len(words) == 1 and words[0].startswith("/"):
            return words[0]
    return None  # (venv's `$(cygpath ...)` and a relocatable script's name no path)


def _same_project(old_root: str, new_root: str) -> bool:
    """Whether ``new_root`` is the project at ``old_root`` moved (it is gone) or copied (its
    pyproject.toml is the same), by the pyproject.toml each holds."""
    new = os.path.join(new_root, "pyproject.toml")
    try:
        with open(new, "rb") as handle:
            here = handle.read(1 << 20)
    except OSError:
        return False
    try:
        with open(os.path.join(old_root, "pyproject.toml"), "rb") as handle:
            return handle.read(1 << 20) == here
    except FileNotFoundError:
        return not os.path.exists(old_root)
    except OSError:
        return False


def check_packages(env: Path, sites: list[tuple[int, int, bool]], findings: list[Finding]) -> None:
    """Installs an installer gave up on half-way (uv where chmod fails): a ``.dist-info``
    without its METADATA, which importlib.metadata and pip cannot read; and one whose RECORD
    or METADATA is there but empty (a crash of the machine kept their names, not their
    bytes). Repair cannot make the package again; the finding says how to."""
    for major, minor, threaded in sites:
        site = env / site_packages_path((major, minor), threaded)
        try:
            names = sorted(os.listdir(site))
        except OSError:
            continue
        infos = [name for name in names if name.endswith(".dist-info")]
        paths = [site / name / file for name in infos for file in _DIST_INFO_NEEDS]
        found = iter(_each(_size_of, paths, asks_at_once(site)))
        for name in infos:
            sizes = {file: next(found) for file in _DIST_INFO_NEEDS}
            missing = [file for file, size in sizes.items() if size == _MISSING]
            if not missing:
                empty = [file for file, size in sizes.items() if size == 0]
                if empty:
                    findings.append(_empty_dist_info_finding(env, site / name, empty))
                continue
            package = _package_of(name)
            why = (
                "the install of {package} stopped half-way"
                if "METADATA" in missing
                else "an uninstall cannot tell its files"
            ).format(package=package)
            findings.append(
                warning(
                    Code.PACKAGE_INCOMPLETE,
                    f"{name} has no {' and no '.join(missing)}: {why}; reinstall it "
                    f"({_reinstall_commands(env, site / name, 'anyvenv sync')})",
                    site / name,
                    package=package,
                )
            )


_DIST_INFO_NEEDS = ("METADATA", "RECORD")
"""The files of a ``.dist-info`` without which its package cannot be read or uninstalled."""


def _each(func: Callable[[T], R], items: Sequence[T], at_once: bool) -> list[R]:
    """``func`` of each of ``items``, in their order: by :data:`_STATS_AT_ONCE` threads where
    ``at_once`` (on a share that answers together), else in turn."""
    if not at_once:
        return [func(item) for item in items]
    from anyvenv.fs.together import map_together

    return map_together(func, items, _STATS_AT_ONCE)


def _size_of(path: Path) -> int | None:
    """The size of the file at ``path`` (not followed), ``_MISSING`` where there is none;
    ``None`` where it cannot be looked at, or is no regular file."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return _MISSING
    except (OSError, ValueError):
        return None
    import stat

    return found.st_size if stat.S_ISREG(found.st_mode) else None


def _empty_dist_info_finding(env: Path, dist_info: Path, empty: list[str]) -> Finding:
    """A ``.dist-info`` whose RECORD or METADATA is a file of 0 bytes: the files a RECORD
    lists cannot be checked, nor removed by an uninstall or upgrade, which leaves them
    behind; an empty METADATA gives importlib.metadata no name nor version."""
    package = _package_of(dist_info.name)
    what = " and ".join(empty)
    harm = []
    if "RECORD" in empty:
        harm.append("its files cannot be checked, and an uninstall or upgrade cannot tell them")
    if "METADATA" in empty:
        harm.append("importlib.metadata finds no name or version in it")
    return warning(
        Code.PACKAGE_RECORD_EMPTY,
        f"{dist_info.name}/{what} {'are' if len(empty) > 1 else 'is'} empty (0 bytes: a crash "
        f"kept the name, not the contents): {'; '.join(harm)}; reinstall it "
        f"({_reinstall_for(env, dist_info)})",
        dist_info,
        package=package,
        files="\n".join(empty),
    )


def check_package_files(
    env: Path, sites: list[tuple[int, int, bool]], findings: list[Finding]
) -> None:
    """Files a package's RECORD lists that are missing or not the size it recorded: an
    install or copy that stopped part-way (a full disk, a killed copy), or a mount that lost
    what was written (rclone without its cache empties files written again). The package
    imports wrong, or not at all, while its dist-info says it is installed, so a plain sync
    leaves it so. A link the filesystem will not read (uv's symlink mode on sshfs) is
    damaged too: what it names cannot be opened. Scripts in bin/ (their shebangs are rewritten when an env moves) and the
    files of editable installs (rewritten by ``repair``) are not compared; a file two
    packages list may have either's size (the later install's bytes won). On a local disk
    or device, source, bytecode and shared objects of the right size are also read at their
    start (and end): NUL bytes there are what a crash of the machine left (:func:`_nul_filled`)."""
    for major, minor, threaded in sites:
        site = env / site_packages_path((major, minor), threaded)
        listed, scripts = _listed_sizes(env, site)
        if not listed:
            continue
        recorded: dict[str, set[int]] = {}
        for rows in listed.values():
            for path, size in rows:
                recorded.setdefault(path, set()).add(size)
        at_once, read_nul = _where(site)
        on_disk = _sizes_on_disk(recorded, at_once)
        one_file = _one_file_under_two_names(recorded, on_disk)
        spelled = _directories_spelled_otherwise(site, listed, on_disk, one_file)
        one_script = _scripts_under_two_names(scripts)
        owners: dict[str, list[str]] = {}  # a path one file with another -> its packages
        for name, rows in listed.items():
            for path in [*(path for path, _ in rows), *scripts.get(name, ())]:
                if path in one_file or path in one_script:
                    owners.setdefault(path, []).append(_package_of(name))
        for name, rows in listed.items():
            paths = [path for path, _ in rows]
            twins = [path for path in paths if path in one_file]
            twins += [path for path in scripts.get(name, ()) if path in one_script]
            if twins:
                findings.append(_names_collide_finding(env, site / name, twins, owners))
            for directory, there, others, files in spelled.get(name, ()):
                findings.append(
                    _directory_spelled_otherwise_finding(
                        env, site / name, directory, there, others, files
                    )
                )
            damaged = [
                path
                for path in paths
                if path in on_disk and on_disk[path] not in recorded[path] and path not in one_file
            ]
            if damaged:
                findings.append(_damaged_finding(env, site / name, damaged, on_disk, recorded))
            zeroed = _zeroed(paths, on_disk, recorded) if read_nul else []
            if zeroed:
                findings.append(_zeroed_finding(env, site / name, zeroed))


def _one_file_under_two_names(
    recorded: dict[str, set[int]], on_disk: dict[str, int | str]
) -> set[str]:
    """The listed paths that differ from another only in case and are one file with it: on a
    filesystem that ignores case (FAT, exFAT, SMB) a package's ``README.py`` and
    ``Readme.py`` land in one file, whose size is one of theirs; no reinstall can help. Told
    by the directory's listing, which holds fewer such names than were written (FUSE gives
    each name its own inode number, so the two do not compare as one file)."""
    by_folded: dict[str, list[str]] = {}
    for path in recorded:
        by_folded.setdefault(path.casefold(), []).append(path)
    found: set[str] = set()
    for paths in by_folded.values():
        there = [path for path in paths if on_disk.get(path, _MISSING) != _MISSING]
        if len(there) > 1 and _fewer_names_listed(there):
            found.update(there)
    return found


def _scripts_under_two_names(scripts: dict[str, list[str]]) -> set[str]:
    """As :func:`_one_file_under_two_names`, for the scripts in bin/ the RECORDs list
    (``scripts``: per ``.dist-info``), whose sizes are not compared: ``bin/Tool`` of one
    package and ``bin/tool`` of another are one file where case is not told apart, which
    runs one of them. Looked at only where two are spelled so (one listing of bin/)."""
    by_folded: dict[str, set[str]] = {}
    for listed in scripts.values():
        for path in listed:
            by_folded.setdefault(path.casefold(), set()).add(path)
    found: set[str] = set()
    for spellings in by_folded.values():
        if len(spellings) > 1:
            there = sorted(path for path in spellings if os.path.lexists(path))
            if len(there) > 1 and _fewer_names_listed(there):
                found.update(there)
    return found


def _fewer_names_listed(paths: list[str]) -> bool:
    """Whether ``paths`` (absolute, that differ only in case) are fewer entries than there
    are spellings: the directory where they first differ lists fewer of the names they have
    there (``Readme.py`` and ``README.py`` in one directory; ``Mod/`` and ``mod/``, one
    directory, above two ``__init__.py``)."""
    split = [path.split(os.sep) for path in paths]
    for index, parts in enumerate(zip(*split, strict=False)):
        spellings = set(parts)
        if len(spellings) > 1:
            try:
                names = os.listdir(os.sep.join(split[0][:index]) or os.sep)
            except OSError:
                return False
            return len(spellings.intersection(names)) < len(spellings)
    return False


def _directories_spelled_otherwise(
    site: Path,
    listed: dict[str, list[tuple[str, int]]],
    on_disk: dict[str, int | str],
    one_file: set[str],
) -> dict[str, list[tuple[str, str, list[str], list[str]]]]:
    """Per ``.dist-info`` of ``site``: the directories below ``site`` its RECORD spells in
    another case than the filesystem does, where case is not told apart (FAT, exFAT, SMB):
    ``shared/b.py`` of one package lands in ``Shared/`` made first by another, where
    ``import shared`` finds nothing (the import system minds case). Each as ``(directory as
    recorded, as it is there, the packages that spell it so, the files of this one in it)``,
    relative to ``site``; the first part that differs only. Looked at only where the RECORDs
    spell one directory two ways (none does, mostly: nothing is listed), one listing per
    directory that holds such a part; a spelling whose files are not there (a filesystem
    that tells case apart, which lists both) is not one."""
    prefix = os.fspath(site) + os.sep
    spellings: dict[str, dict[str, set[str]]] = {}  # folded -> spelling -> dist-infos
    for name, rows in listed.items():
        below = {
            os.path.dirname(path[len(prefix) :]) for path, _ in rows if path.startswith(prefix)
        }
        for directory in below:  # (not a data file's, outside site-packages)
            while directory:
                spellings.setdefault(directory.casefold(), {}).setdefault(directory, set()).add(
                    name
                )
                directory = os.path.dirname(directory)
    many = {folded: found for folded, found in spellings.items() if len(found) > 1}
    if not many:
        return {}
    listings: dict[str, list[str] | None] = {}

    def listing(relative: str) -> list[str] | None:
        if relative not in listings:
            try:
                listings[relative] = os.listdir(os.path.join(prefix, relative))
            except OSError:
                listings[relative] = None
        return listings[relative]

    there: dict[str, str | None] = {}  # a spelling -> the directory's spelling on disk

    def as_there(directory: str) -> str | None:
        if directory not in there:
            parent, base = os.path.split(directory)
            if parent.casefold() not in many:
                parent_there: str | None = parent  # (spelled one way: as it is written)
            else:
                parent_there = as_there(parent)
            names = None if parent_there is None else listing(parent_there)
            if names is None:
                there[directory] = None
            elif base in names:
                there[directory] = os.path.join(parent_there or "", base)
            else:
                found = [entry for entry in names if entry.casefold() == base.casefold()]
                there[directory] = os.path.join(parent_there or "", found[0]) if found else None
        return there[directory]

    by_dist: dict[str, list[tuple[str, str, list[str], list[str]]]] = {}
    for found in many.values():
        for directory, names in sorted(found.items()):
            spelled = as_there(directory)
            parent = os.path.dirname(directory)
            parent_there = as_there(parent) if parent.casefold() in many else parent
            if spelled is None or spelled == directory or parent_there != parent:
                continue  # (as written; or a part above it differs already: said there)
            others = sorted(
                _package_of(other)
                for other in found.get(spelled, ())
                if other not in names  # (its own other spelling: its twins say it)
            )
            inside = prefix + directory + os.sep
            for name in sorted(names):
                files = [
                    path
                    for path, _ in listed[name]
                    if path.startswith(inside)
                    and on_disk.get(path, _MISSING) != _MISSING
                    and path not in one_file
                ]
                if files:
                    by_dist.setdefault(name, []).append((directory, spelled, others, files))
    return by_dist


def _directory_spelled_otherwise_finding(
    env: Path, dist_info: Path, directory: str, there: str, others: list[str], files: list[str]
) -> Finding:
    """Files of the package of ``dist_info`` in a directory that is spelled in another case
    there (see :func:`_directories_spelled_otherwise`)."""
    package = _package_of(dist_info.name)
    root = os.fspath(env) + os.sep
    whose = f" ({' and '.join(others)}'s spelling)" if others else ""
    named = _some_named(files, lambda path: _as_recorded(path, env, dist_info))
    return warning(
        Code.PACKAGE_NAMES_COLLIDE,
        f"{package}'s directory {directory}/ is {there}/ on this filesystem{whose}, which "
        f"does not tell case apart: its files there ({named}) are in place, but Python's "
        f"import, which minds case, does not find them as {directory.replace(os.sep, '.')}, "
        "and no reinstall can give the directory both names (put the environment on a "
        "filesystem that tells case apart)",
        dist_info,
        package=package,
        directory=directory,
        there=there,
        files="\n".join(path[len(root) :] for path in files),
    )


def _names_collide_finding(
    env: Path, dist_info: Path, twins: list[str], owners: dict[str, list[str]]
) -> Finding:
    """Files of the package of ``dist_info`` (``twins``) that are one file with another of
    its own, or of another package (``owners``: the packages of each such path), whose name
    differs only in case; each named with the others it is one file with."""
    package = _package_of(dist_info.name)
    root = os.fspath(env) + os.sep
    groups: dict[str, list[str]] = {}  # (its own first, in its RECORD's order)
    for path in twins:
        groups.setdefault(path.casefold(), []).append(path)
    for path in sorted(owners):
        group = groups.get(path.casefold())
        if group is not None and path not in group:
            group.append(path)
    others: list[str] = []
    shown = []
    for paths in groups.values():
        said = []
        for path in paths:
            name = _as_recorded(path, env, dist_info)
            if path in twins:
                said.append(name)
                continue
            whose = [other for other in owners[path] if other != package]
            others.extend(other for other in whose if other not in others)
            said.append(f"{' and '.join(whose)}'s {name}")
        shown.append(" and ".join(said))
    evidence = {"others": "\n".join(others)} if others else {}
    return warning(
        Code.PACKAGE_NAMES_COLLIDE,
        f"{package} has files whose names differ only in case ({'; '.join(shown)}), one file "
        "on this filesystem, which does not tell case apart: it holds one of them, and no "
        "reinstall can place both (put the environment on a filesystem that does)",
        dist_info,
        package=package,
        files="\n".join(path[len(root) :] for path in twins),
        **evidence,
    )


def _listed_sizes(
    env: Path, site: Path
) -> tuple[dict[str, list[tuple[str, int]]], dict[str, list[str]]]:
    """For each ``.dist-info`` of ``site`` with METADATA and RECORD (one without is
    :func:`check_packages`'s), the files its RECORD gives a size for that are compared; and
    its scripts in bin/ (not compared: their shebangs are rewritten)."""
    from anyvenv.envbuild.dists import recorded_sizes

    try:
        names = sorted(name for name in os.listdir(site) if name.endswith(".dist-info"))
    except OSError:
        return {}, {}
    root = os.fspath(env) + os.sep
    scripts = os.path.join(os.fspath(env), "bin") + os.sep
    listed: dict[str, list[tuple[str, int]]] = {}
    in_bin: dict[str, list[str]] = {}
    records = _each(_record_of, [site / name for name in names], asks_at_once(site))
    for name, record_bytes in zip(names, records, strict=True):
        if record_bytes is None:
            continue
        rows = []
        for relative, size in recorded_sizes(record_bytes):
            path = os.path.normpath(os.path.join(site, relative))  # (an absolute one: as is)
            if path.startswith(scripts):
                in_bin.setdefault(name, []).append(path)
            elif path.startswith(root) and not _rewritten(path):
                rows.append((path, size))
        listed[name] = rows
    return listed, in_bin


def _record_of(dist_info: Path) -> bytes | None:
    """The bytes of the RECORD of ``dist_info``; ``None`` where it cannot be read, or where
    the ``.dist-info`` has no METADATA (:func:`check_packages` says that)."""
    if not os.path.lexists(dist_info / "METADATA"):
        return None
    try:
        with open(dist_info / "RECORD", "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _rewritten(path: str) -> bool:
    """Files of editable installs, which ``repair`` rewrites for a moved project."""
    name = os.path.basename(path)
    return name.endswith(".pth") or name.startswith("__editable__") or name == "direct_url.json"


_MISSING = -1


def _sizes_on_disk(
    paths: dict[str, set[int]] | list[str], at_once: bool = False
) -> dict[str, int | str]:
    """The size of each of ``paths`` (through links: uv's symlink mode), ``_MISSING`` for
    one that is not there, the errno name for a link the filesystem will not read (sshfs:
    EPERM for an absolute target, EACCES where the server refuses readlink: what it names
    cannot be opened); one that cannot be looked at otherwise (EACCES past a directory this
    user may not enter, another user's; EIO) is left out. ``at_once``: where the files are
    on a share (each stat a round trip; the server answers several together), with
    :data:`_STATS_AT_ONCE` threads asking (:func:`_sizes_at_once`); the same answer."""
    listed = list(paths)
    if at_once and len(listed) >= _STATS_AT_ONCE_FROM:
        found = _sizes_at_once(listed)
    else:
        found = [_size_on_disk(path) for path in listed]
    return {path: size for path, size in zip(listed, found, strict=True) if size is not None}


_STATS_AT_ONCE = 8
"""Threads asking for sizes at once on a share (measured, 10 small packages: see README)."""
_STATS_AT_ONCE_FROM = 16
"""Files from which the threads are worth their start."""


def _size_on_disk(path: str) -> int | str | None:
    """One answer of :func:`_sizes_on_disk` (``None``: left out)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return _MISSING
    except PermissionError:
        return _unreadable_link(path)
    except (OSError, ValueError):
        return None


def _sizes_at_once(paths: list[str]) -> list[int | str | None]:
    """:func:`_size_on_disk` of each of ``paths``, in their order, asked by
    :data:`_STATS_AT_ONCE` threads (this one among them)."""
    from anyvenv.fs.together import map_together

    return map_together(_size_on_disk, paths, _STATS_AT_ONCE)


# Files whose first (and last) bytes are never all NUL: source (python refuses a NUL byte),
# bytecode (a magic number first) and shared objects (an ELF header first).
_CODE_SUFFIXES = (".py", ".pyc", ".so")
_TAIL_CHECKED = (".py", ".pyc")  # (a shared object may end in zeros of padding)


def _where(site: Path) -> tuple[bool, bool]:
    """Whether the stats of the files of ``site`` are made several at once: on a share that
    answers calls together (each a round trip: 10 small packages on a FUSE mount answering
    in 20 ms, ``check`` 5.5 s in turn, 3.6 s with 8 threads); and whether their first bytes
    are read: on a local disk or device, where reading the first block of each is a small
    cost beside the stat each gets (on a share, each open and read is a round trip: some
    5,500 files, 0.4 s to stat on sshfs, 4 s more to read). Neither where the mount is not
    known."""
    from anyvenv.fs.mounts import mount_of

    mount = mount_of(site)
    if mount is None:
        return False, False
    return mount.answers_at_once, not mount.answers_from_afar


def asks_at_once(path: Path) -> bool:
    """Whether calls about the files at ``path`` are made several at once: it is on a share
    that answers them together (see :attr:`anyvenv.fs.mounts.MountInfo.answers_at_once`;
    :func:`_where`'s first answer)."""
    return _where(path)[0]


def _zeroed(
    paths: list[str], on_disk: dict[str, int | str], recorded: dict[str, set[int]]
) -> list[str]:
    """The files of ``paths`` of the size their RECORD gives whose bytes are NUL where code
    should be (:func:`_nul_filled`): source, bytecode and shared objects."""
    zeroed = []
    for path in paths:
        size = on_disk.get(path)  # (a str: a link that cannot be read, named as damaged)
        if not isinstance(size, int) or size <= 0 or size not in recorded[path]:
            continue
        if path.endswith(_CODE_SUFFIXES) and _nul_filled(path, size):
            zeroed.append(path)
    return zeroed


def _nul_filled(path: str, size: int) -> bool:
    """Whether the file at ``path`` (``size`` bytes, the size its RECORD gives) holds NUL
    bytes where its contents should be: its first block, or for source and bytecode its
    last, all NUL. What XFS and others leave of a file written shortly before a crash of the
    machine: its size logged, its bytes never written. Two reads at most (a large file is
    not read through); one that cannot be read is not called damaged."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError):
        return False
    try:
        first = os.pread(fd, _BLOCK, 0)
        if first and not first.strip(b"\0"):
            return True
        if size <= _BLOCK or not path.endswith(_TAIL_CHECKED):
            return False
        last = os.pread(fd, _BLOCK, size - _BLOCK)
        return bool(last) and not last.strip(b"\0")
    except OSError:
        return False
    finally:
        os.close(fd)


def _zeroed_finding(env: Path, dist_info: Path, zeroed: list[str]) -> Finding:
    package = _package_of(dist_info.name)
    root = os.fspath(env) + os.sep
    count = len(zeroed)
    named = _some_named(zeroed, lambda path: _as_recorded(path, env, dist_info))
    return warning(
        Code.PACKAGE_FILES_ZEROED,
        f"{count} file{'s' if count > 1 else ''} of {package} {'hold' if count > 1 else 'holds'}"
        f" NUL bytes where {'their' if count > 1 else 'its'} contents should be (the size its "
        f"RECORD gives, not the bytes: a crash of the machine): {named}; reinstall it "
        f"({_reinstall_for(env, dist_info)})",
        dist_info,
        package=package,
        files="\n".join(path[len(root) :] for path in zeroed),
    )


def _unreadable_link(path: str) -> str | None:
    """The errno name of the readlink that fails (EACCES, EPERM) where ``path`` is a link
    the filesystem will not read; ``None`` for a file, or a link that reads (whose target
    lies past a directory this user may not enter)."""
    import stat

    from anyvenv.fs.outcome import errno_name

    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            return None  # (a file past a directory this user may not enter: left out)
        os.readlink(path)
    except PermissionError as exc:  # (of the lstat too: a directory on the way is closed)
        return errno_name(exc.errno) if os.path.islink(path) else None
    except (OSError, ValueError):  # (it reads, but not now: left out)
        return None
    return None


_NAMED_AT_MOST = 3


def _some_named(paths: list[str], said: Callable[[str], str]) -> str:
    """The first of ``paths`` as ``said`` says them, and how many more there are."""
    named = ", ".join(said(path) for path in paths[:_NAMED_AT_MOST])
    more = len(paths) - _NAMED_AT_MOST
    return f"{named} and {more} more" if more > 0 else named


def _as_recorded(path: str, env: Path, dist_info: Path) -> str:
    """``path`` as a RECORD names it: below site-packages (the dist-info's parent), or
    below the env (a script in bin/)."""
    site = os.fspath(dist_info.parent) + os.sep
    root = os.fspath(env) + os.sep
    return path[len(site) :] if path.startswith(site) else path[len(root) :]


def _damaged_finding(
    env: Path,
    dist_info: Path,
    damaged: list[str],
    on_disk: dict[str, int | str],
    recorded: dict[str, set[int]],
) -> Finding:
    package = _package_of(dist_info.name)
    root = os.fspath(env) + os.sep

    def said(path: str) -> str:
        size = on_disk[path]
        if isinstance(size, str):
            found = f"a link that cannot be read, {size}"
        else:
            found = "missing" if size == _MISSING else f"{size} byte{'' if size == 1 else 's'}"
        shown = _as_recorded(path, env, dist_info)
        return f"{shown} ({found}, recorded {max(recorded[path])})"

    count = len(damaged)
    named = _some_named(damaged, said)
    links = any(isinstance(on_disk[path], str) for path in damaged)
    why = _UNREADABLE_AND_REINSTALL if links else _LOST_AND_REINSTALL
    return warning(
        Code.PACKAGE_FILES_DAMAGED,
        f"{count} file{'s' if count > 1 else ''} of {package} {'are' if count > 1 else 'is'} "
        f"missing or not the size its RECORD gives: {named} "
        f"{why.format(_reinstall_for(env, dist_info))}",
        dist_info,
        package=package,
        files="\n".join(path[len(root) :] for path in damaged),
    )


def _package_of(dist_info: str) -> str:
    """The distribution's name as its ``.dist-info`` directory spells it."""
    return dist_info[: -len(".dist-info")].rsplit("-", 1)[0]


def _reinstall_commands(env: Path, dist_info: Path, in_project: str) -> str:
    """The commands that install a distribution of ``env`` again: ``in_project`` in a
    project, else anyvenv's pip, with where the package came from when its dist-info says.
    (Plain uv fails where chmod fails, at a half-made install too: anyvenv's pip installs
    anywhere, in uv's own env or not.)"""
    package = _package_of(dist_info.name)
    source = _installed_from(dist_info)
    wanted = f"{package} @ {source}" if source else package
    elsewise = (
        f"'anyvenv pip install --python {shlex.quote(str(env))} --reinstall {shlex.quote(wanted)}'"
    )
    if source is None:  # (the name alone is looked up on the index: another package)
        elsewise += ", with its path or URL for the name if it is not from your index"
    return f"'{in_project}' in a project, else {elsewise}"


def _installed_from(dist_info: Path) -> str | None:
    """The URL a package was installed from where its dist-info says (``direct_url.json``,
    PEP 610: a local path or a URL, not an index), else ``None``."""
    import json

    try:
        with open(dist_info / "direct_url.json", "rb") as handle:
            url = json.loads(handle.read(1 << 16)).get("url")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and url and "\n" not in url else None


def _mode_of(path: Path) -> str:
    try:
        return f"{os.stat(path).st_mode & 0o7777:04o}"
    except OSError:
        return "unknown"


def check_activation(env: Path, findings: list[Finding]) -> None:
    if not os.path.lexists(env / "bin" / "activate"):
        findings.append(
            warning(
                Code.ACTIVATION_MISSING,
                "bin/activate is missing: the environment cannot be activated (the tool that "
                "made it stopped before writing its activation scripts?)",
                env / "bin" / "activate",
            )
        )
        return
    activated = activated_dir(env)
    empty = _empty_activation_scripts(env)
    if activated is not None and not same_directory(activated, env):
        findings.append(
            warning(
                Code.ACTIVATION_STALE,
                f"bin/activate activates {activated}, not this environment (moved?)",
                env / "bin" / "activate",
                activates=activated,
            )
        )
        _check_editables(env, activated, findings)
    if empty:  # (after a stale one: its rewrite keeps an empty script empty)
        findings.append(
            warning(
                Code.ACTIVATION_EMPTY,
                f"{', '.join('bin/' + name for name in empty)} "
                f"{'are' if len(empty) > 1 else 'is'} empty (0 bytes: a crash kept the name, "
                "not the contents): activating with it does nothing",
                env / "bin" / empty[0],
                scripts="\n".join(empty),
            )
        )


def _empty_activation_scripts(env: Path) -> list[str]:
    """The activation scripts anyvenv writes that are regular files of 0 bytes in bin/."""
    from anyvenv.envbuild.activation import SCRIPT_NAMES
    from anyvenv.fs.paths import is_empty_file

    return [name for name in SCRIPT_NAMES if is_empty_file(env / "bin" / name)]


def _check_editables(env: Path, old_env: str, findings: list[Finding]) -> None:
    """Editable installs that name the project the env was moved or copied from (the env's
    old parent), where the same place exists in the project it is in now: their packages
    import the old project's code, or fail where it is gone."""
    from anyvenv.repair.envstate import editable_files, named_below

    old_root, new_root = os.path.dirname(old_env), os.path.dirname(os.fspath(env))
    if old_root in ("", "/") or same_file(old_root, new_root):
        return
    if not _same_project(old_root, new_root):
        return  # (an env copied alone into another project: whose code it means is unclear)
    stale = []
    for path in editable_files(env):
        try:
            with open(path, "rb") as handle:
                data = handle.read(1 << 20)
        except OSError:
            continue
        tails = named_below(data, old_root)
        if any(os.path.exists(new_root + os.fsdecode(tail)) for tail in tails):
            stale.append(os.fsdecode(path))
    if stale:
        findings.append(
            warning(
                Code.EDITABLE_STALE,
                f"{len(stale)} file{'s' if len(stale) > 1 else ''} of editable installs name "
                f"{old_root}, the project this environment was moved or copied from: their "
                f"packages import its code, not that of {new_root}",
                None,
                old=old_root,
                new=new_root,
                files="\n".join(stale),
            )
        )
