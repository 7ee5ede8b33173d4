"""Pytest wiring of the real-filesystem lab (tests/lab).

Fixtures:
  lab         session-wide ``lab.Lab``: mounts each kind on first use, unmounts at the end.
  lab_kind    the kind a test runs on: "local" unless the test parametrizes it, e.g.
              ``@pytest.mark.parametrize("lab_kind", lab.ALL_KINDS)``.
  lab_mount   the ``lab.LabMount`` of ``lab_kind`` (root, fstype, can_execute, expect).
  target      a fresh empty directory on the mount of ``lab_kind``, removed afterwards.
  lab_target  like ``target`` but itself parametrized over every kind in ``lab.ALL_KINDS``.

A mount that cannot be made on this machine (not root, no /dev/fuse, a program
missing) skips the test, unless ANYVENV_LAB_REQUIRED=1 (CI), where it fails;
any other mount failure always fails. Tests on a real mount get the ``mount``
marker automatically.
"""

from __future__ import annotations

import inspect
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

# tests/ on sys.path whatever pytest's import mode: `import lab` from any test module.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab import ALL_KINDS, Lab, LabMount, LabUnavailable

pytest_plugins = ("reliability_report",)  # counts of tests/test_reliability_*.py

LAB_REQUIRED = os.environ.get("ANYVENV_LAB_REQUIRED") == "1"
LAB_KEY = pytest.StashKey[Lab]()
KIND_PARAMETERS = ("lab_kind", "lab_target")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# a developer's settings the tests must not inherit (the tests that need one set it): where
# Pythons download from and put their executables, the depth of the `uv run`/`anyvenv run`
# the tests run under, and the version a shim's choice was pinned to (a run started through
# a pyenv shim, `python3 ...`, exports PYENV_VERSION and PYENV_DIR: pyenv's shims would then
# choose from the directory the run started in, not from the tests' projects)
UNINHERITED_VARIABLES = (
    "UV_PYTHON_BIN_DIR",
    "ANYVENV_PYTHON_INSTALL_MIRROR",
    "ANYVENV_PYTHON_DOWNLOADS_JSON",
    "UV_PYTHON_INSTALL_MIRROR",
    "UV_PYTHON_DOWNLOADS_JSON_URL",
    "UV_RUN_RECURSION_DEPTH",
    "UV_RUN_MAX_RECURSION_DEPTH",
    "PYENV_VERSION",
    "PYENV_DIR",
    "ASDF_PYTHON_VERSION",
    "MISE_PYTHON_VERSION",
)


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (CI timeouts, kill) ends the run like Ctrl-C, so the lab still unmounts; the
    developer's download and nesting settings are left out."""
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    for name in UNINHERITED_VARIABLES:
        os.environ.pop(name, None)
    # `python install` makes python3.X in a bin dir: never the developer's ~/.local/bin
    os.environ["ANYVENV_PYTHON_BIN_DIR"] = tempfile.mkdtemp(prefix="anyvenv-tests-bin-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.get("ANYVENV_PYTHON_BIN_DIR", ""), ignore_errors=True)


def _unavailable(kind: str, error: LabUnavailable) -> NoReturn:
    if error.environmental and not LAB_REQUIRED:
        pytest.skip(f"lab mount {kind} unavailable: {error.reason}")
    pytest.fail(f"lab mount {kind} failed: {error.reason}", pytrace=False)


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The session's lab; everything it mounted is unmounted at session end."""
    the_lab = Lab(on_unavailable=_unavailable)
    request.config.stash[LAB_KEY] = the_lab
    try:
        yield the_lab
    finally:
        the_lab.close()


HUNG_TEST_DEADLINE = 120.0
"""Seconds a test on the lab's hung mount may take (far more than any bound it tests, less
than pytest-timeout's 300 s, which cannot end a process stuck in the kernel)."""


@pytest.fixture
def hung_watchdog(lab: Lab) -> Iterator[None]:
    """For tests on the lab's hung mount: one that hangs is failed after HUNG_TEST_DEADLINE,
    its mount aborted so it and what it started can end, instead of holding up the run."""
    with lab.hung_watchdog(HUNG_TEST_DEADLINE) as fired:
        yield
    if fired.is_set():
        pytest.fail(
            f"the test hung on the lab's hung mount: its connection was aborted after "
            f"{HUNG_TEST_DEADLINE:g}s (something waited on the mount with no bound)",
            pytrace=False,
        )


@pytest.fixture
def lab_kind() -> str:
    """The lab kind of the test; parametrize it to run on mounts."""
    return "local"


@pytest.fixture
def lab_mount(lab: Lab, lab_kind: str) -> LabMount:
    return lab.mount(lab_kind)


def _fresh_target(the_lab: Lab, kind: str) -> Iterator[Path]:
    path = the_lab.target(kind)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def target(lab: Lab, lab_kind: str) -> Iterator[Path]:
    """A fresh empty directory on the mount of ``lab_kind``."""
    yield from _fresh_target(lab, lab_kind)


@pytest.fixture(params=ALL_KINDS)
def lab_target(lab: Lab, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A fresh empty directory on each lab kind in turn (the test runs once per kind)."""
    kind: str = request.param
    yield from _fresh_target(lab, kind)


def _item_kind(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for name in KIND_PARAMETERS:
        if name in callspec.params:
            return str(callspec.params[name])
    return None


def _asks_for_lab(item: pytest.Item) -> bool:
    """Does the test function itself take the ``lab`` fixture (special mounts)?"""
    function = getattr(item, "function", None)
    return function is not None and "lab" in inspect.signature(function).parameters


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark with ``mount`` every test on a real mount: a kind other than "local", or
    the ``lab`` fixture taken directly."""
    for item in items:
        kind = _item_kind(item)
        if (kind is not None and kind != "local") or _asks_for_lab(item):
            item.add_marker(pytest.mark.mount)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    the_lab = terminalreporter.config.stash.get(LAB_KEY, None)
    if the_lab is not None:
        terminalreporter.write_line(the_lab.summary())


@pytest.fixture(scope="session")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project tests' wheels (tests/project_support.build_index), built once a session:
    a find-links directory that no test writes to."""
    from project_support import build_index

    return build_index(tmp_path_factory.mktemp("wheels"))


@pytest.fixture
def nobody_scratch() -> Iterator[Path]:
    """A directory under /tmp (mode 0755) for tests that run anyvenv as uid 65534, whom the
    test's own tmp_path (under /root's pytest dir) does not let in; removed afterwards."""
    import tempfile

    from support import can_run_as_nobody

    if not can_run_as_nobody():
        pytest.skip("needs root, setpriv and /usr/bin/python3 to run as another user")
    top = Path(tempfile.mkdtemp(prefix="anyvenv-nobody-", dir="/tmp"))
    os.chmod(top, 0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top)
