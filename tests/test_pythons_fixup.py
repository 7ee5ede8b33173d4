"""The build prefix (/install) rewritten to where the install lies."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from anyvenv.pythons.fixup import (
    SysconfigNotPatched,
    fix_up_install,
    patch_pkgconfig_text,
    replace_build_prefix,
)

SYSCONFIGDATA = """# system configuration generated and used by the sysconfig module
build_time_vars = {'BINDIR': '/install/bin',
 'LIBDIR': '/install/lib',
 'INCLUDEPY': '/install/include/python3.12',
 'LDFLAGS': '-L/install/lib -Wl,-rpath,/install/lib -L/tools/deps/lib',
 'CONFIG_ARGS': "'--prefix=/install' '--with-openssl=/tools/deps'",
 'prefix': '/install',
 'INSTALLER': '/installer/bin/x',
 'Py_ENABLE_SHARED': 1,
 'TZPATH': '/usr/share/zoneinfo:/usr/lib/zoneinfo'}
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/install", "/opt/py"),
        ("/install/lib", "/opt/py/lib"),
        ("-L/install/lib -lpython3.12", "-L/opt/py/lib -lpython3.12"),
        ("-I/install/include/python3.12", "-I/opt/py/include/python3.12"),
        ("-Wl,-rpath,/install/lib", "-Wl,-rpath,/opt/py/lib"),
        ("'--prefix=/install'", "'--prefix=/opt/py'"),
        ("a:/install/lib:b", "a:/opt/py/lib:b"),
        ("/installer/bin", "/installer/bin"),
        ("/usr/install/lib", "/usr/install/lib"),
        ("/tools/deps/lib", "/tools/deps/lib"),
    ],
)
def test_replace_build_prefix(value: str, expected: str) -> None:
    assert replace_build_prefix(value, "/opt/py") == expected


def test_prefix_with_odd_characters_is_taken_literally() -> None:
    assert replace_build_prefix("/install/lib", r"/mnt/share\1 x") == r"/mnt/share\1 x/lib"


def make_install(root: Path) -> Path:
    stdlib = root / "lib" / "python3.12"
    (stdlib / "__pycache__").mkdir(parents=True)
    data = stdlib / "_sysconfigdata__linux_x86_64-linux-gnu.py"
    data.write_text(SYSCONFIGDATA)
    (stdlib / "__pycache__" / "_sysconfigdata__linux_x86_64-linux-gnu.cpython-312.pyc").write_bytes(
        b"stale"
    )
    (stdlib / "_sysconfig_vars__linux_x86_64-linux-gnu.json").write_text(
        json.dumps({"LIBDIR": "/install/lib", "SIZEOF_LONG": 8})
    )
    pkgconfig = root / "lib" / "pkgconfig"
    pkgconfig.mkdir()
    (pkgconfig / "python-3.12.pc").write_text(
        "prefix=/install\nlibdir=${prefix}/lib\nName: Python\n"
    )
    os.symlink("python-3.12.pc", pkgconfig / "python3.pc")
    return data


def test_fix_up_rewrites_sysconfig_and_pkgconfig(tmp_path: Path) -> None:
    staging = tmp_path / ".staging"
    data = make_install(staging)
    final = tmp_path / "cpython-3.12.9-linux-x86_64-gnu"
    changed = fix_up_install(staging, final, "python3.12")
    assert {path.name for path in changed} == {
        data.name,
        "_sysconfig_vars__linux_x86_64-linux-gnu.json",
        "python-3.12.pc",
    }
    module = ast.parse(data.read_text())
    assignment = module.body[0]
    assert isinstance(assignment, ast.Assign)
    values = ast.literal_eval(assignment.value)
    assert values["LIBDIR"] == f"{final}/lib", "the final prefix, not the staging dir"
    assert values["INCLUDEPY"] == f"{final}/include/python3.12"
    assert values["LDFLAGS"] == f"-L{final}/lib -Wl,-rpath,{final}/lib -L/tools/deps/lib"
    assert values["INSTALLER"] == "/installer/bin/x"
    assert values["Py_ENABLE_SHARED"] == 1
    assert values["PYTHON_BUILD_STANDALONE"] == 1
    assert values["TZPATH"] == "/usr/share/zoneinfo:/usr/lib/zoneinfo"
    assert not (data.parent / "__pycache__" / f"{data.stem}.cpython-312.pyc").exists()
    vars_json = json.loads(
        (data.parent / "_sysconfig_vars__linux_x86_64-linux-gnu.json").read_text()
    )
    assert vars_json["LIBDIR"] == f"{final}/lib"
    pc = (staging / "lib" / "pkgconfig" / "python-3.12.pc").read_text()
    assert pc.startswith("prefix=${pcfiledir}/../..\n")
    assert os.readlink(staging / "lib" / "pkgconfig" / "python3.pc") == "python-3.12.pc"


def test_fix_up_is_idempotent(tmp_path: Path) -> None:
    data = make_install(tmp_path / "py")
    fix_up_install(tmp_path / "py", tmp_path / "final", "python3.12")
    once = data.read_text()
    fix_up_install(tmp_path / "py", tmp_path / "final", "python3.12")
    assert data.read_text() == once


def test_missing_sysconfigdata_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "py" / "lib" / "python3.12").mkdir(parents=True)
    with pytest.raises(SysconfigNotPatched, match=r"no lib/python3\.12/_sysconfigdata"):
        fix_up_install(tmp_path / "py", tmp_path / "final", "python3.12")


def test_unreadable_sysconfigdata_is_an_error(tmp_path: Path) -> None:
    stdlib = tmp_path / "py" / "lib" / "python3.12"
    stdlib.mkdir(parents=True)
    (stdlib / "_sysconfigdata__x.py").write_text("build_time_vars = {'a': open('x')}\n")
    with pytest.raises(SysconfigNotPatched, match="cannot read"):
        fix_up_install(tmp_path / "py", tmp_path / "final", "python3.12")


def test_pkgconfig_only_exact_prefix_lines_change() -> None:
    text = "prefix=/install\nexec_prefix=/install/x\n# prefix=/install\nLibs: -L/install\n"
    assert patch_pkgconfig_text(text) == (
        "prefix=${pcfiledir}/../..\nexec_prefix=/install/x\n# prefix=/install\nLibs: -L/install\n"
    )
