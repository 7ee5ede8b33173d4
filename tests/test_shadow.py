"""The shadow env uv installs into where chmod does not work in the env's filesystem: when
one made before may be used again (its end to end use is in test_sync_mounts)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from repair_support import uv_bin

from anyvenv.interpreter.query import query_interpreter
from anyvenv.project.shadow import shadow_fits
from anyvenv.project.state import SyncState
from support import BASE, run_cli


def _state(base: str, version: tuple[int, int, int]) -> SyncState:
    return SyncState(
        env="/p/.venv", placement="shadow", reason="", base_executable=base,
        version=list(version), free_threaded=False, site_packages="lib/x/site-packages",
        made_by_anyvenv=True, fingerprint={},
    )  # fmt: skip


def test_only_our_shadow_of_the_envs_base_and_release_fits(tmp_path: Path) -> None:
    info = query_interpreter(str(BASE))
    ours = tmp_path / "ours"
    assert run_cli("venv", "-q", "-p", str(BASE), str(ours)).returncode == 0
    saved = _state(info.executable, info.version)
    assert shadow_fits(str(ours), saved)
    assert not shadow_fits(str(tmp_path / "gone"), saved)
    newer = (info.version[0], info.version[1], info.version[2] + 1)  # the base upgraded since
    assert not shadow_fits(str(ours), _state(info.executable, newer))
    assert not shadow_fits(str(ours), _state("/elsewhere/bin/python3", info.version))
    uvs = tmp_path / "uvs"  # uv's own env of the same base: uv would replace it as it likes
    subprocess.run([uv_bin(), "venv", "-q", "-p", str(BASE), str(uvs)], check=True)
    assert not shadow_fits(str(uvs), saved)
