"""``--seed``: install pip into a new env, offline when the base ships its bundled wheels."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from anyvenv.envbuild.layout import EnvLayout
from anyvenv.errors import AnyvenvError, OptionWords, UsageError


def bundled_wheel_dir(layout: EnvLayout) -> Path | None:
    """ensurepip's wheels in the base's stdlib, if this build has them; else the directory a
    distribution's build keeps them in for ensurepip (``WHEEL_PKG_DIR``: Debian's
    ``/usr/share/python-wheels``)."""
    major, minor = layout.info.version[:2]
    candidate = (
        Path(layout.info.prefix) / "lib" / f"python{major}.{minor}" / "ensurepip" / "_bundled"
    )
    if any(candidate.glob("pip-*.whl")):
        return candidate
    shared = _wheel_pkg_dir(layout.info.executable)
    return shared if shared is not None and any(shared.glob("pip-*.whl")) else None


def _wheel_pkg_dir(python: str) -> Path | None:
    """The base's ``WHEEL_PKG_DIR`` (configure's ``--with-wheel-pkg-dir``), if it has one."""
    code = "import sysconfig; print(sysconfig.get_config_var('WHEEL_PKG_DIR') or '')"
    try:
        proc = subprocess.run(
            [python, "-I", "-S", "-c", code], capture_output=True, stdin=subprocess.DEVNULL
        )
    except OSError:
        return None
    found = proc.stdout.decode(errors="replace").strip()
    return Path(found) if proc.returncode == 0 and found else None


def _unseeded(words: OptionWords) -> str:
    """How the user makes an env without pip: without their ``seed`` option (``words``)."""
    seed = words.option("seed")
    return f"without {seed}" if seed else "without seeding pip"


def check_seedable(env: str | os.PathLike[str], words: OptionWords) -> None:
    """:class:`UsageError` for a path pip cannot be installed into: neither uv nor pip (nor
    ensurepip) accept a path that is not valid UTF-8. ``words``: the caller's front end's,
    whose ``seed`` option the hint names."""
    from anyvenv.fs.paths import is_utf8

    if not is_utf8(env):
        raise UsageError(
            f"{os.fsdecode(env)!r} is not valid UTF-8: pip cannot be installed there "
            "(uv and pip refuse such paths)",
            f"create the environment {_unseeded(words)}",
        )


def uv_binary() -> str:
    from anyvenv.uvbinary import find_uv

    return find_uv()


def seed_packages(
    layout: EnvLayout,
    *,
    with_pip: bool = False,
    index_args: Sequence[str] = (),
    words: OptionWords,
) -> list[str]:
    """Install pip (and setuptools where the base bundles it); returns what was asked.

    uv does it fastest; ``with_pip`` runs the base's ensurepip in the env instead, for
    filesystems where uv's chmod after copying fails. ``index_args`` (uv's index options)
    are for a base that bundles no pip wheel: then uv takes pip from that index. ``words``:
    the caller's front end's, whose ``seed`` option the hint of a failure names."""
    if with_pip:
        return _seed_with_ensurepip(layout, words)
    wanted = ["pip"]
    args = [
        uv_binary(),
        "pip",
        "install",
        "--quiet",
        "--python",
        os.fspath(layout.python),
        "--link-mode",
        "copy",
    ]
    bundled = bundled_wheel_dir(layout)
    if bundled is not None:
        if layout.info.version < (3, 12, 0) and any(bundled.glob("setuptools-*.whl")):
            wanted.append("setuptools")
        args += ["--no-index", "--find-links", os.fspath(bundled)]
    else:
        args += list(index_args)
    from anyvenv.uvbinary import in_utf8_locale

    proc = subprocess.run(
        [*args, *wanted],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=dict(in_utf8_locale(os.environ)),  # (else pip lands beside the env: see there)
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown error"]
        raise AnyvenvError(
            f"seeding {', '.join(wanted)} failed: {detail[0]}", f"retry {_unseeded(words)}"
        )
    return wanted


def _seed_with_ensurepip(layout: EnvLayout, words: OptionWords) -> list[str]:
    proc = subprocess.run(
        [os.fspath(layout.python), "-I", "-m", "ensurepip", "--default-pip"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown error"]
        # (the staging tree it ran in is removed: the env's own name for its python)
        said = detail[0].replace(os.fspath(layout.python), "the env's python")
        raise AnyvenvError(
            f"seeding pip with ensurepip failed: {said}", _ensurepip_hint(layout, said, words)
        )
    # what ensurepip bundles for this Python: setuptools too before 3.12
    placed = {name.split("-")[0] for name in os.listdir(layout.site_packages)}
    return [name for name in ("pip", "setuptools") if name in placed]


def _ensurepip_hint(layout: EnvLayout, failure: str, words: OptionWords) -> str:
    """The way out of a failed ensurepip: a base without it (Debian's and Ubuntu's keep it
    in the python3.X-venv package, as ``python -m venv`` says there) gets it installed."""
    if "No module named ensurepip" in failure or "ensurepip is disabled" in failure:
        major, minor = layout.info.version[:2]
        return (
            f"this Python has no ensurepip: install it (Debian, Ubuntu: apt install "
            f"python{major}.{minor}-venv), or retry {_unseeded(words)}"
        )
    return f"retry {_unseeded(words)}"
