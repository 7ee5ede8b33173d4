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
    named = parse_request("python3.12")
    assert named.name == "python3.12" and named.minor_hint() == (3, 12)
    assert parse_request("pypy3").name == "pypy3"
    assert parse_request(None).is_any


def test_free_threaded_request() -> None:
    request = parse_request("3.13t")
    assert request.matches_version((3, 13, 0), free_threaded=True)
    assert not request.matches_version((3, 13, 0), free_threaded=False)


@pytest.mark.parametrize("raw", ["@@", "3.x", ">=three", "3..1"])
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
