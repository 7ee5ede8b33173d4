"""What is wrong with an environment: typed findings with code, severity, message, evidence."""

from __future__ import annotations

import os

from anyvenv.record import StrChoice, field, record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from pathlib import Path


class Severity(str, StrChoice):
    ERROR = "error"  # the environment (or a part named) does not work
    WARNING = "warning"  # works, but something will bite later


class Code(str, StrChoice):
    """Stable names of findings (``--json`` and tests use them)."""

    CONFIG_UNREADABLE = "config-unreadable"
    CONFIG_NO_HOME = "config-no-home"
    BIN_NOT_A_DIRECTORY = "bin-not-a-directory"
    HOME_MISSING = "home-missing"
    HOME_STALE = "home-stale"  # the base is found by another key; home names another place
    BASE_NAMED_OTHERWISE = "base-named-otherwise"  # home/python (python3) is another Python
    BASE_MISSING = "base-missing"
    BASE_DOES_NOT_RUN = "base-does-not-run"
    INTERPRETER_MISSING = "interpreter-missing"
    INTERPRETER_LINK_UNREADABLE = "interpreter-link-unreadable"
    INTERPRETER_LINK_DANGLING = "interpreter-link-dangling"
    INTERPRETER_NOT_EXECUTABLE = "interpreter-not-executable"
    INTERPRETER_DOES_NOT_RUN = "interpreter-does-not-run"
    INTERPRETER_NOT_IN_ENV = "interpreter-not-in-env"
    INTERPRETER_STRAY = "interpreter-stray"  # another python* name in bin/, broken: left alone
    STDLIB_OTHER_BUILD = "stdlib-other-build"
    VERSION_MISMATCH = "version-mismatch"
    LIBPYTHON_UNRESOLVED = "libpython-unresolved"
    LIBPYTHON_OTHER_BUILD = "libpython-other-build"
    LIB64_UNREADABLE = "lib64-unreadable"
    LIB64_DANGLING = "lib64-dangling"
    SCRIPT_INTERPRETER_MISSING = "script-interpreter-missing"
    SCRIPT_INTERPRETER_FOREIGN = "script-interpreter-foreign"
    SCRIPT_NOT_EXECUTABLE = "script-not-executable"
    SCRIPT_EMPTY = "script-empty"  # a package's console script of 0 bytes: a reinstall mends it
    SCRIPT_DAMAGED = "script-damaged"  # a package's console script cut short, or NUL bytes
    BIN_LINK_BROKEN = "bin-link-broken"  # another tool's link in bin/: unreadable, or dangling
    PACKAGE_INCOMPLETE = "package-incomplete"
    PACKAGE_FILES_DAMAGED = "package-files-damaged"  # missing, or not the size RECORD gives
    PACKAGE_FILES_ZEROED = "package-files-zeroed"  # the size RECORD gives, but NUL bytes
    PACKAGE_RECORD_EMPTY = "package-record-empty"  # RECORD (or METADATA) of 0 bytes
    PACKAGE_NAMES_COLLIDE = "package-names-collide"  # two names, one file: case ignored
    COPY_UNFINISHED = "copy-unfinished"  # packages being copied in from a shadow env
    FILL_UNFINISHED = "fill-unfinished"  # a fill in place (fs.inplace) that a kill cut short
    ACTIVATION_STALE = "activation-stale"
    ACTIVATION_MISSING = "activation-missing"
    ACTIVATION_EMPTY = "activation-empty"  # 0 bytes (a crash kept the name, not the bytes)
    EDITABLE_STALE = "editable-stale"  # editable installs name the project it was moved from


REINSTALL_CODES = frozenset({Code.SCRIPT_EMPTY, Code.SCRIPT_DAMAGED})
"""Errors only a reinstall of the package mends (their message says how): repair writes no
package's files."""

PACKAGE_CODES = REINSTALL_CODES | {
    Code.PACKAGE_INCOMPLETE,
    Code.PACKAGE_FILES_DAMAGED,
    Code.PACKAGE_FILES_ZEROED,
    Code.PACKAGE_RECORD_EMPTY,
}
"""Findings, errors or warnings, that a reinstall of the package named mends and repair
does not (it writes no package's files)."""

PACKAGE_FILE_CODES = frozenset({Code.PACKAGE_FILES_DAMAGED, Code.PACKAGE_FILES_ZEROED})
"""Findings of the look at each package file (``check(package_files=True)``), which repair
takes once, before its fixes (none of which touches them)."""


INTERPRETER_CODES = frozenset(
    {
        Code.HOME_MISSING,
        Code.BASE_MISSING,
        Code.BASE_DOES_NOT_RUN,
        Code.INTERPRETER_MISSING,
        Code.INTERPRETER_LINK_UNREADABLE,
        Code.INTERPRETER_LINK_DANGLING,
        Code.INTERPRETER_NOT_EXECUTABLE,
        Code.INTERPRETER_DOES_NOT_RUN,
        Code.INTERPRETER_NOT_IN_ENV,
        Code.STDLIB_OTHER_BUILD,
        Code.LIBPYTHON_UNRESOLVED,
        Code.LIBPYTHON_OTHER_BUILD,
    }
)
"""Findings that re-placing the interpreter from a working base fixes."""


@record
class Finding:
    """One thing wrong. ``evidence`` holds what was measured (errno names, paths, versions)."""

    code: Code
    severity: Severity
    message: str
    path: str | None = None
    evidence: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
            "evidence": dict(self.evidence),
        }


def error(code: Code, message: str, path: Path | str | None = None, **evidence: str) -> Finding:
    return Finding(code, Severity.ERROR, message, _text(path), evidence)


def warning(code: Code, message: str, path: Path | str | None = None, **evidence: str) -> Finding:
    return Finding(code, Severity.WARNING, message, _text(path), evidence)


def _text(path: Path | str | None) -> str | None:
    return None if path is None else os.fsdecode(path)
