"""Reading --python requests and version specifiers."""

from __future__ import annotations

import pytest

from anyvenv.errors import UsageError
from anyvenv.interpreter.request import parse_request, parse_specifiers


@pytest.mark.parametrize(
    ("raw", "version", "ok"),
    [
        ("3.12", (3, 12, 4), True),
        ("3.12", (3, 11, 9), False),
        ("3.12.4", (3, 12, 4), True),
        ("3.12.4", (3, 12, 5), False),
        ("3", (3, 9, 1), True),
        ("cpython@3.11", (3, 11, 0), True),
        ("312", (3, 12, 4), True),  # as uv reads it (and wheel tags)
        ("cp312", (3, 11, 9), False),
        ("cpython-3.12.1-linux-x86_64-gnu", (3, 12, 1), True),  # an install's name, as in uv
        ("cpython-3.12.1-linux-x86_64-gnu", (3, 12, 4), False),
        (">=3.11", (3, 12, 0), True),
        (">=3.11,<3.12", (3, 12, 0), False),
        ("~=3.10", (3, 13, 1), True),
        ("==3.11.*", (3, 11, 8), True),
        ("!=3.11.*", (3, 11, 8), False),
    ],
)
def test_version_requests(raw: str, version: tuple[int, int, int], ok: bool) -> None:
    assert parse_request(raw).matches_version(version) is ok


def test_paths_and_names() -> None:
    assert parse_request("/opt/py/bin/python3").path == "/opt/py/bin/python3"
    assert parse_request("./py").path == "./py"
    versioned = parse_request("python3.12")  # as uv: a version, not a name on PATH
    assert versioned.name is None and versioned.minor_hint() == (3, 12)
    for same in ("python312", "python@3.12", "PYTHON3.12"):
        assert parse_request(same).specifiers == versioned.specifiers, same
    assert parse_request("python3.13t").free_threaded is True
    assert parse_request("pypy3").name == "pypy3"
    assert parse_request("python3-dbg").name == "python3-dbg"
    assert parse_request("python").name == "python"
    assert parse_request(None).is_any


def test_free_threaded_request() -> None:
    request = parse_request("3.13t")
    assert request.matches_version((3, 13, 0), free_threaded=True)
    assert not request.matches_version((3, 13, 0), free_threaded=False)


@pytest.mark.parametrize(
    ("raw", "platform"),
    [
        ("cpython-3.12.1-linux-x86_64-gnu", ("linux", "x86_64", "gnu")),
        ("cpython-3.12-linux-x86_64", ("linux", "x86_64")),
        ("CPython-3.12-Linux", ("linux",)),
        ("cpython-3.12", ()),  # an implementation and a version
        ("3.12", ()),
    ],
)
def test_an_install_name_keeps_its_platform(raw: str, platform: tuple[str, ...]) -> None:
    request = parse_request(raw)
    assert request.platform == platform
    assert request.matches_version((3, 12, 1))
    assert request.platform_matches("linux-x86_64-gnu")


def test_a_build_for_another_platform_does_not_match_this_one() -> None:
    # uninstalling cpython-3.12.1-macos-aarch64-none must not remove the Linux build
    for raw in (
        "cpython-3.12.1-macos-aarch64-none",
        "cpython-3.12-linux-aarch64",
        "cpython-3.12-linux-x86_64-musl",
    ):
        assert not parse_request(raw).platform_matches("linux-x86_64-gnu"), raw
    assert parse_request("cpython-3.12-any-x86_64").platform_matches("linux-x86_64-gnu")


@pytest.mark.parametrize(
    ("raw", "free_threaded"),
    [("3.13+freethreaded", True), ("3.13t", True), ("3.13+gil", False), ("3.13", None)],
)
def test_build_variants_as_uv_writes_them(raw: str, free_threaded: bool | None) -> None:
    request = parse_request(raw)
    assert request.free_threaded is free_threaded
    assert request.matches_version((3, 13, 0), free_threaded=bool(free_threaded))


def test_a_range_keeps_its_variant() -> None:
    request = parse_request(">=3.13+freethreaded")
    assert request.matches_version((3, 14, 0), free_threaded=True)
    assert not request.matches_version((3, 14, 0), free_threaded=False)


def test_a_plus_in_a_name_is_no_variant() -> None:
    assert parse_request("my+python").name == "my+python"


def test_a_debug_build_is_refused_by_name() -> None:
    with pytest.raises(UsageError, match=r"\+debug build"):
        parse_request("3.13+debug")


@pytest.mark.parametrize("raw", ["cpython", "CPython", "cp"])
def test_an_implementation_alone_is_any_cpython(raw: str) -> None:
    assert parse_request(raw).is_any


def test_a_versioned_python_name_is_its_version() -> None:
    named = parse_request("python3.12")
    assert named.names_a_version and named.matches_version((3, 12, 7))
    assert not parse_request("pypy3").names_a_version
    assert not parse_request("/usr/bin/python3.12").names_a_version


@pytest.mark.parametrize(
    "raw", ["@@", "3.x", ">=three", "3..1", "cpython-3.x-linux", "cpython--macos"]
)
def test_garbage_is_a_usage_error(raw: str) -> None:
    with pytest.raises(UsageError):
        parse_request(raw)


def test_specifier_errors() -> None:
    with pytest.raises(ValueError):
        parse_specifiers("")
    with pytest.raises(ValueError):
        parse_specifiers(">=3.10,banana")


def test_specifiers_split_as_the_regex_does() -> None:
    """Read without re (requires-python is read on every sync): the same answers as the
    expression the parser documents, whitespace and non-ASCII digits included."""
    import random
    import re

    from anyvenv.interpreter.request import _SPECIFIER, _split_specifier

    pieces = ["~=", "==", "!=", "<=", ">=", "<", ">", "=", "~", " ", "\t", "\n", "3", "12"]
    pieces += [".", "*", "a", "\u0663", "\u00b2", "\u00a0"]
    rng = random.Random(440)
    matched = 0
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        match = re.match(_SPECIFIER, text)
        expected = (match.group(1), match.group(2), bool(match.group(3))) if match else None
        assert _split_specifier(text) == expected, repr(text)
        matched += expected is not None
    assert matched > 50  # the inputs reach the matching cases, not only the failing ones
