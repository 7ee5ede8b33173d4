"""Reading a site-packages directory for distributions a killed install left half-made."""

from __future__ import annotations

import os
from pathlib import Path

from anyvenv.envbuild.dists import dist_info_name, look_for_half_made, normalize_name


def interrupted_installs(site: Path, *, read_records: bool = False) -> list[str]:
    return look_for_half_made(site, read_records=read_records).interrupted


def clear_dead_dist_infos(site: Path) -> list[str]:
    return look_for_half_made(site).dead


def test_names_compare_as_pep_503_says() -> None:
    assert normalize_name("Foo.Bar__baz-Qux") == "foo-bar-baz-qux"
    assert dist_info_name("Foo_Bar-1.0.dist-info") == "foo-bar"


def test_a_dist_info_without_installer_is_interrupted(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    for name, finished in (("done_pkg-1.0", True), ("Half.Made-2.0", False), ("other-3", False)):
        info = site / f"{name}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Name: {name}\n")  # (not dead: readable)
        (info / "RECORD").write_text("")
        if finished:
            (info / "INSTALLER").write_text("uv\n")
    (site / "half_made").mkdir()  # a package directory is not a dist-info
    assert interrupted_installs(site) == ["half-made", "other"]


def test_a_record_not_rewritten_after_installer_is_interrupted_when_records_are_read(
    tmp_path: Path,
) -> None:
    """uv writes INSTALLER, then the final RECORD (which lists INSTALLER): one killed in
    between leaves the wheel's RECORD, naming ``.data`` files it has moved already."""
    site = tmp_path / "site-packages"
    final = site / "done-1.0.dist-info"
    stale = site / "beta-1.0.dist-info"
    for info in (final, stale):
        info.mkdir(parents=True)
        (info / "INSTALLER").write_text("uv\n")
    (final / "RECORD").write_text("done/__init__.py,,\ndone-1.0.dist-info/INSTALLER,sha256=x,3\n")
    (stale / "RECORD").write_text("beta/__init__.py,,\nbeta-1.0.data/data/share/readme.txt,,\n")
    quoted = site / "quoted-1.0.dist-info"  # a CSV RECORD may quote its paths
    quoted.mkdir()
    (quoted / "INSTALLER").write_text("pip\n")
    (quoted / "RECORD").write_text('"Quoted-1.0.dist-info/INSTALLER",,\r\n')
    (site / "unreadable-1.0.dist-info").mkdir()
    (site / "unreadable-1.0.dist-info" / "INSTALLER").write_text("pip\n")  # and no RECORD
    for info in (final, stale, quoted):  # the wheel's RECORD was put there before INSTALLER
        _older_than_installer(info / "RECORD")
    assert interrupted_installs(site) == []  # (the common path reads no RECORD)
    assert interrupted_installs(site, read_records=True) == ["beta"]
    # a RECORD written after INSTALLER is the final one: not even read
    (stale / "RECORD").write_text("not,what,it,was\n")
    os.utime(stale / "RECORD", ns=(0, (stale / "INSTALLER").stat().st_mtime_ns + 10**9))
    assert interrupted_installs(site, read_records=True) == []


def _older_than_installer(record: Path) -> None:
    installer = (record.parent / "INSTALLER").stat().st_mtime_ns
    os.utime(record, ns=(installer - 10**9, installer - 10**9))


def test_a_missing_site_packages_has_nothing_interrupted(tmp_path: Path) -> None:
    assert interrupted_installs(tmp_path / "absent") == []


def test_names_normalize_as_the_pep_503_regex_does() -> None:
    """Read without re (start-up time): the same answer as PEP 503's own expression."""
    import random
    import re

    rng = random.Random(503)
    for _ in range(3000):
        name = "".join(rng.choice("aZ9-_.é") for _ in range(rng.randint(0, 12)))
        assert normalize_name(name) == re.sub(r"[-_.]+", "-", name).lower(), name


def test_a_dist_info_no_tool_can_read_and_that_lists_nothing_is_cleared(tmp_path: Path) -> None:
    """Plain uv where chmod fails leaves ``NAME.dist-info`` with an empty RECORD and no
    METADATA: removed (nothing it lists is left behind). One with METADATA, or with a RECORD
    that lists files, is a package's and stays."""
    site = tmp_path / "site-packages"
    kept_files = {
        "readable-1.0": {"METADATA": "Name: readable\n"},
        "listed-1.0": {"RECORD": "x,,\n"},
    }
    for name, files in {**kept_files, "Dead_Pkg-1.0": {"RECORD": ""}, "bare-1.0": {}}.items():
        info = site / f"{name}.dist-info"
        info.mkdir(parents=True)
        for file, text in files.items():
            (info / file).write_text(text)
    assert clear_dead_dist_infos(site) == ["bare", "dead-pkg"]
    assert sorted(os.listdir(site)) == ["listed-1.0.dist-info", "readable-1.0.dist-info"]
    assert clear_dead_dist_infos(tmp_path / "missing") == []


def test_one_look_finds_stale_data_dirs_dead_and_interrupted_dist_infos(tmp_path: Path) -> None:
    """What a sync reinstalls, from one listing: the stale ``.data`` directory and the dead
    dist-info are removed, the interrupted one is left; a link named like either is never
    removed (nor followed into), and one without INSTALLER through it counts as interrupted.
    A dist-info with INSTALLER is finished even with no METADATA or RECORD (an installer
    writes INSTALLER after them and an uninstaller removes it before them)."""
    site = tmp_path / "site-packages"
    elsewhere = tmp_path / "elsewhere"
    for info, files in {
        site / "done-1.0.dist-info": {"INSTALLER": "uv\n"},  # (not even METADATA: finished)
        site / "Dead.Pkg-1.0.dist-info": {"RECORD": ""},
        site / "half-2.0.dist-info": {"METADATA": "Name: half\n", "RECORD": "half/x.py,,\n"},
        site / "stale-1.0.data": {"scripts": "left\n"},
        elsewhere / "linked-1.0.dist-info": {"RECORD": ""},
        elsewhere / "linked_data-1.0.data": {"x": ""},
    }.items():
        info.mkdir(parents=True)
        for file, text in files.items():
            (info / file).write_text(text)
    for name in ("linked-1.0.dist-info", "linked_data-1.0.data"):
        os.symlink(elsewhere / name, site / name)
    found = look_for_half_made(site)
    assert (found.data_dirs, found.dead) == (["stale"], ["dead-pkg"])
    assert found.interrupted == ["half", "linked"]
    assert found.reinstall == ["dead-pkg", "half", "linked", "stale"]
    assert sorted(os.listdir(site)) == [
        "done-1.0.dist-info",
        "half-2.0.dist-info",
        "linked-1.0.dist-info",
        "linked_data-1.0.data",
    ]
    assert sorted(os.listdir(elsewhere)) == ["linked-1.0.dist-info", "linked_data-1.0.data"]
    assert look_for_half_made(tmp_path / "absent").reinstall == []
