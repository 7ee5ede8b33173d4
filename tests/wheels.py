"""Build small, real wheels for tests by writing the zip directly (no network, no backend)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(wheel: Path, info: str, files: dict[str, bytes]) -> Path:
    """Write ``files`` and their RECORD (in ``info``, the dist-info directory) as ``wheel``."""
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def build_wheel(
    directory: Path,
    name: str,
    version: str = "1.0",
    *,
    modules: dict[str, str] | None = None,
    console_scripts: dict[str, str] | None = None,
    data_files: dict[str, bytes] | None = None,
    requires: list[str] | None = None,
) -> Path:
    """Write ``{name}-{version}-py3-none-any.whl`` into ``directory`` and return its path.

    ``modules`` maps file paths inside the wheel (``pkg/__init__.py``) to source text;
    ``console_scripts`` maps script names to ``module:function``.
    """
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files: dict[str, bytes] = {path: text.encode() for path, text in (modules or {}).items()}
    files.update(data_files or {})
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {req}" for req in requires or []]
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: anyvenv-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if console_scripts:
        lines = ["[console_scripts]"] + [
            f"{script} = {target}" for script, target in console_scripts.items()
        ]
        files[f"{info}/entry_points.txt"] = ("\n".join(lines) + "\n").encode()
    return _write_wheel(directory / f"{dist}-{version}-py3-none-any.whl", info, files)


def greeter_wheel(directory: Path) -> Path:
    """A package ``greeter`` with a console script ``greet`` printing where it runs from."""
    return build_wheel(
        directory,
        "greeter",
        modules={
            "greeter/__init__.py": (
                "import sys\ndef main():\n    print('hello from', sys.prefix)\n    return 0\n"
            )
        },
        console_scripts={"greet": "greeter:main"},
    )


def repack_installed(directory: Path, name: str) -> Path:
    """A wheel of the distribution ``name`` installed in the tests' own environment (its files
    as installed, bytecode left out), for a real package the tests cannot download: a build
    backend such as setuptools, served offline with ``--find-links``."""
    from importlib.metadata import distribution

    dist = distribution(name)
    version = dist.version
    stem = f"{dist.metadata['Name'].replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    files: dict[str, bytes] = {}
    for entry in dist.files or []:
        path = entry.as_posix()
        if "__pycache__" in path or path.startswith(("..", "/")):
            continue
        if path.startswith(f"{info}/") and path.rsplit("/", 1)[1] in (
            "RECORD",
            "INSTALLER",
            "REQUESTED",
            "direct_url.json",
        ):
            continue
        located = Path(str(entry.locate()))
        if located.is_file():
            files[path] = located.read_bytes()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: anyvenv-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    return _write_wheel(directory / f"{stem}-py3-none-any.whl", info, files)
