"""Shebang reading and rewriting for console scripts (both installer forms), and the
pyvenv.cfg edit that keeps every other line."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyvenv.envbuild.shebang import SHEBANG_LIMIT, parse_shebang, render_header, rewritten
from anyvenv.repair.fixes import edit_config_text

SH_FORM = b"#!/bin/sh\n'''exec' '/old env/bin/python' \"$0\" \"$@\"\n' '''\nimport sys\n"


def test_plain_shebang_with_arguments() -> None:
    data = b"#!/old/bin/python -E\nimport sys\n"
    shebang = parse_shebang(data)
    assert shebang is not None
    assert shebang.interpreter == "/old/bin/python" and shebang.args == b" -E"
    assert rewritten(data, shebang, "/new/bin/python") == b"#!/new/bin/python -E\nimport sys\n"


def test_sh_trampoline_form() -> None:
    shebang = parse_shebang(SH_FORM)
    assert shebang is not None and shebang.sh_exec
    assert shebang.interpreter == "/old env/bin/python"
    assert rewritten(SH_FORM, shebang, "/short/python") == b"#!/short/python\nimport sys\n"


@pytest.mark.parametrize(
    "interpreter", ["/with space/bin/python", "/" + "x" * SHEBANG_LIMIT + "/bin/python"]
)
def test_long_or_spaced_paths_get_the_trampoline(interpreter: str) -> None:
    header = render_header(interpreter)
    assert header.startswith(b"#!/bin/sh\n")
    back = parse_shebang(header + b"import sys\n")
    assert back is not None and back.interpreter == interpreter


@pytest.mark.parametrize("data", [b"\x7fELF\x02\x01", b"no shebang\n", b"#!", b"#!\n"])
def test_not_a_script(data: bytes) -> None:
    assert parse_shebang(data) is None


def test_plain_sh_script_is_read_as_sh() -> None:
    shebang = parse_shebang(b"#!/bin/sh\necho hi\n")
    assert shebang is not None and shebang.interpreter == "/bin/sh" and not shebang.sh_exec


def test_config_edit_keeps_other_lines_and_spelling() -> None:
    text = "home = /old/bin\nimplementation = CPython\nVersion_Info = 3.12.1\nprompt = x = y\n"
    edited = edit_config_text(text, {"home": "/new/bin", "version_info": "3.12.2"})
    assert edited == (
        "home = /new/bin\nimplementation = CPython\nVersion_Info = 3.12.2\nprompt = x = y\n"
    )


def test_config_edit_appends_missing_keys() -> None:
    assert edit_config_text("home = /a", {"base-executable": "/a/python"}) == (
        "home = /a\nbase-executable = /a/python\n"
    )


@pytest.mark.parametrize(
    "interpreter",
    [
        "/tmp/q'uo\"te/env/bin/python",  # pip writes ' as '"'"' in its trampoline
        "/tmp/new\nline/env/bin/python",  # a newline inside the quotes
        '/tmp/d"q/$x`y`/python',
        "/x/" + "L" * 130 + "/python",
        "/plain/python",
    ],
)
def test_every_header_written_is_read_back(interpreter: str) -> None:
    """What render_header writes, parse_shebang reads: the path, the args and the length (a
    quoted path in the trampoline was not read, so its script kept naming a staging dir)."""
    for args in (b"", b" -E"):
        header = render_header(interpreter, args)
        found = parse_shebang(header + b"import sys\n")
        assert found is not None
        assert (found.interpreter, found.args, found.header_length) == (
            interpreter,
            args,
            len(header),
        )


def test_a_script_moves_with_its_env_whatever_the_paths_hold() -> None:
    """One rewrite for the builder (staging to target) and the mirror (shadow to env): plain
    lines, trampolines, and uv's plain line whose path holds a newline."""
    from anyvenv.envbuild.shebang import retarget_shebang

    assert retarget_shebang(b"#!/old/bin/python -E\nbody\n", "/old", "/new") == (
        b"#!/new/bin/python -E\nbody\n"
    )
    assert retarget_shebang(b"#!/usr/bin/python3\nbody\n", "/old", "/new") is None
    odd = "/old\nroot"
    moved = retarget_shebang(f"#!{odd}/bin/python\nbody\n".encode(), odd, "/a b")
    assert moved is not None and moved.startswith(b"#!/bin/sh\n") and moved.endswith(b"body\n")
    assert b"'/a b/bin/python'" in moved
    back = retarget_shebang(moved, "/a b", "/plain")
    assert back == b"#!/plain/bin/python\nbody\n"


@pytest.mark.parametrize("part", ["d", "q'"])
def test_a_header_for_a_path_of_path_max_is_read_from_its_file(tmp_path: Path, part: str) -> None:
    """A script whose interpreter path is as long as a path can be (4095 bytes, each quote
    written as five in the trampoline) is read whole from its file: it was cut at 1024 bytes
    and taken for a plain ``/bin/sh`` script, so a moved env's were never retargeted."""
    from anyvenv.envbuild.shebang import read_shebang

    interpreter = ("/" + part * 4096)[:4088] + "/python"
    for forms in ("pip's '\"'\"'", "the shorter '\\''"):
        header = render_header(interpreter)  # (a ' written as pip writes it)
        if forms != "pip's '\"'\"'":
            header = header.replace(b"'\"'\"'", b"'\\''")
        script = tmp_path / "script"
        script.write_bytes(header + b"import sys\n" + b"#" * 20000 + b"\n")
        found = read_shebang(script)
        assert found is not None and found.interpreter == interpreter, forms
        assert found.header_length == len(header)
