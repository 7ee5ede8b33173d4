"""The shadow env uv installs into where chmod does not work in the env's filesystem: when
one made before may be used again (its end to end use is in test_sync_mounts)."""

from __future__ import annotations

import shutil
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


def test_a_journal_whose_distributions_were_all_placed_is_no_unfinished_copy(
    tmp_path: Path,
) -> None:
    """Killed after the last distribution was placed whole, before the journal went: check
    has nothing to warn of (no package may be missing)."""
    from anyvenv.project import state as state_store
    from anyvenv.project.mirror import _mark_done, write_journal
    from anyvenv.project.shadow import journal_of, with_unfinished_copy

    env, shadow = tmp_path / "env", tmp_path / "shadow"
    made = run_cli("venv", str(env), "-p", str(BASE), "-q")
    assert made.returncode == 0, made.stderr
    shadow.mkdir()
    info = query_interpreter(str(BASE))
    saved = SyncState(
        env=str(env), placement="shadow", reason="chmod fails", base_executable=info.executable,
        version=list(info.version), free_threaded=False,
        site_packages="lib/python3.11/site-packages", made_by_anyvenv=True, fingerprint={},
        shadow=str(shadow),
    )  # fmt: skip
    state_store.save(str(env), saved)
    journal = journal_of(str(shadow))
    token = write_journal(journal, {}, {"alpha": ["lib/alpha.py"], "beta": ["lib/beta.py"]})
    _mark_done(journal, token, "alpha")
    warned = with_unfinished_copy(env, [])
    assert [finding.message.split(":")[0] for finding in warned] == [
        f"the copy of packages into it from its shadow env {shadow} did not finish (anyvenv "
        "was stopped, or a write there failed"
    ] and "beta may be missing" in warned[0].message
    # a state saved by another release (another version, a field this one lacks) still
    # names the shadow whose journal tells
    import marshal

    state = env / state_store.STATE_NAME
    data = marshal.loads(state.read_bytes())
    state.write_bytes(marshal.dumps({**data, "state_version": 99, "later_field": 1}))
    assert [finding.code.value for finding in with_unfinished_copy(env, [])] == ["copy-unfinished"]
    copy = tmp_path / "copy"  # a copy of the env, its state naming the original: not its shadow
    shutil.copytree(env, copy, symlinks=True)
    assert with_unfinished_copy(copy, []) == []
    _mark_done(journal, token, "beta")
    assert with_unfinished_copy(env, []) == []
