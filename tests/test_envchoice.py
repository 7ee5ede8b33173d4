"""Where the env goes and the link mode, decided from probe results."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyvenv.errors import UsageError
from anyvenv.fs.probe import CHECKS, ProbeResult
from anyvenv.project.envchoice import Placement, elsewhere_env_path, placement_for
from anyvenv.project.linkmode import LinkMode, choose_link_mode, forced_link_mode
from anyvenv.project.uvrules import declared_env
from anyvenv.record import replace

ALL_OK = replace(
    ProbeResult(
        path="/x", mount_point="/", fstype="ext4", mount_options=(), **dict.fromkeys(CHECKS, "ok")
    ),
    reflink="EOPNOTSUPP",
    exec_by_default="no",
)


def _probe(**changes: str) -> ProbeResult:
    return replace(ALL_OK, **changes)


def test_placement_follows_exec_then_chmod() -> None:
    assert placement_for(ALL_OK)[0] is Placement.IN_PLACE
    assert placement_for(_probe(chmod="no"))[0] is Placement.SHADOW
    placement, reason = placement_for(_probe(chmod="ENOSYS"))
    assert placement is Placement.SHADOW and "ENOSYS" in reason
    placement, reason = placement_for(_probe(exec="EACCES", chmod="no"))
    assert placement is Placement.ELSEWHERE and "EACCES" in reason


def test_where_every_file_is_executable_an_ignored_chmod_needs_no_shadow() -> None:
    """exFAT, CIFS with file_mode=0755: uv's lost chmod loses no exec bit, so uv installs in
    place; a chmod that fails (FAT) still breaks uv's copies, so the shadow stays."""
    placement, reason = placement_for(_probe(chmod="no", exec_by_default="ok"))
    assert placement is Placement.IN_PLACE and "every file" in reason
    assert placement_for(_probe(chmod="ENOSYS", exec_by_default="ok"))[0] is Placement.SHADOW
    no_exec = _probe(chmod="no", exec="EACCES", exec_by_default="ok")
    assert placement_for(no_exec)[0] is Placement.ELSEWHERE


def test_declared_path_reads_uv_project_environment(tmp_path: Path) -> None:
    root = str(tmp_path)
    assert declared_env(root, {}) == str(tmp_path / ".venv")
    assert declared_env(root, {"UV_PROJECT_ENVIRONMENT": "a/../env"}) == str(tmp_path / "env")
    assert declared_env(root, {"UV_PROJECT_ENVIRONMENT": "/abs/env"}) == "/abs/env"


def test_elsewhere_path_is_keyed_by_real_path_and_python(tmp_path: Path) -> None:
    environ = {"XDG_DATA_HOME": str(tmp_path / "data")}
    declared = str(tmp_path / "p" / ".venv")
    one = Path(elsewhere_env_path(declared, "My Project!", "cpython-3.12", environ, "why"))
    assert one.parent == tmp_path / "data" / "anyvenv" / "envs"
    assert one.name.startswith("My-Project-")
    assert str(one) != elsewhere_env_path(declared, "My Project!", "cpython-3.11", environ, "why")
    other = str(tmp_path / "q" / ".venv")
    assert str(one) != elsewhere_env_path(other, "My Project!", "cpython-3.12", environ, "why")


def test_link_mode_choice() -> None:
    assert choose_link_mode(None, False).mode is LinkMode.COPY
    assert choose_link_mode(ALL_OK, True).mode is LinkMode.HARDLINK
    assert choose_link_mode(_probe(reflink="ok"), True).mode is LinkMode.CLONE
    assert choose_link_mode(_probe(hardlink="EPERM"), True).mode is LinkMode.COPY
    assert forced_link_mode(None, {}) is None
    assert forced_link_mode(None, {"UV_LINK_MODE": "symlink"}).mode is LinkMode.SYMLINK  # type: ignore[union-attr]
    assert forced_link_mode("copy", {"UV_LINK_MODE": "clone"}).mode is LinkMode.COPY  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="not a link mode"):
        forced_link_mode("teleport", {})


@pytest.mark.parametrize(
    ("mode", "changes", "refused"),
    [
        ("symlink", {"symlink_dotdot": "EPERM", "symlink_absolute": "EPERM"}, True),  # sshfs
        ("symlink", {"symlink_relative": "EACCES", "symlink_absolute": "EACCES"}, True),
        ("symlink", {"symlink_absolute": "no"}, True),  # read back changed: leads nowhere
        ("symlink", {}, False),
        # not made at all (cifs-like, exFAT): uv copies instead, with its warning
        ("symlink", dict.fromkeys(("symlink_create", "symlink_absolute"), "EOPNOTSUPP"), False),
        ("hardlink", {"symlink_absolute": "EPERM", "hardlink": "EPERM"}, False),  # uv copies
        ("clone", {"symlink_absolute": "EPERM"}, False),
    ],
)
def test_a_forced_symlink_mode_is_refused_where_its_links_do_not_read_back(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    changes: dict[str, str],
    refused: bool,
) -> None:
    from anyvenv.fs import probe as probe_module
    from anyvenv.project.linkmode import LinkModeRefused, refuse_unreadable_links

    found = _probe(**changes)
    monkeypatch.setattr(probe_module, "probe", lambda path: replace(found, path=str(path)))
    forced = forced_link_mode(mode, {})
    assert forced is not None
    if not refused:
        refuse_unreadable_links(forced, str(tmp_path))
        return
    with pytest.raises(LinkModeRefused) as caught:
        refuse_unreadable_links(forced, str(tmp_path))
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith("link mode symlink was asked for (--link-mode), but")
    assert f"cannot be read back on ext4 at {tmp_path} (absolute links: " in caught.value.message


def test_slugs_are_what_the_regex_made() -> None:
    """Read without re; the names of existing per-user envs depend on it staying the same."""
    import random
    import re

    from anyvenv.project.envchoice import _slug

    rng = random.Random(40)
    for _ in range(3000):
        name = "".join(rng.choice("ab-._!é /Z9\udcff") for _ in range(rng.randint(0, 50)))
        expected = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:40] or "env"
        assert _slug(name) == expected, repr(name)
