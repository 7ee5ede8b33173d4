"""Release metadata (pbs-installer's table, a uv-style downloads file) and mirror URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyvenv.errors import UsageError
from anyvenv.interpreter.buildtarget import Platform
from anyvenv.pythons.sources import (
    DOWNLOADS_JSON_ENV,
    GITHUB_RELEASE_BASES,
    MIRROR_ENV,
    BadDownloadsFile,
    NoSuchDownload,
    PythonDownload,
    available_downloads,
    download_url,
    downloads_from_json_file,
    downloads_from_pbs_installer,
    select_download,
)

LINUX = Platform("linux", "x86_64", "gnu")
SHA = "ab" * 32


def download(version: tuple[int, int, int], threaded: bool = False) -> PythonDownload:
    name = f"cpython-{'.'.join(map(str, version))}%2B20250101-x86_64-unknown-linux-gnu"
    variant = "-freethreaded" if threaded else ""
    url = f"{GITHUB_RELEASE_BASES[0]}/20250101/{name}{variant}-install_only_stripped.tar.gz"
    return PythonDownload(version, threaded, LINUX, url, SHA)


def test_pbs_installer_table_has_linux_builds_with_checksums() -> None:
    builds = downloads_from_pbs_installer(LINUX)
    assert builds, "pbs-installer ships install_only builds for linux x86_64"
    by_minor = {item.version[:2] for item in builds}
    assert {(3, 10), (3, 11), (3, 12), (3, 13)} <= by_minor
    for item in builds:
        assert item.url.endswith(".tar.gz")
        assert item.url.startswith(GITHUB_RELEASE_BASES), item.url
        assert "install_only" in item.filename
    newest = {item.version[:2]: item for item in reversed(builds)}  # builds are newest first
    assert all(item.sha256 and len(item.sha256) == 64 for item in newest.values())


def test_pbs_installer_has_nothing_for_musl() -> None:
    assert downloads_from_pbs_installer(Platform("linux", "x86_64", "musl")) == []


def test_a_pbs_installer_without_its_table_file_is_one_error_naming_the_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Releases before 2026.10.25 keep the table in a module, not in versions.json (another
    tool, pdm, may have put one there): the error says which release to upgrade to."""
    import sys

    from anyvenv.pythons.sources import PBS_INSTALLER_WITH_TABLE

    older = tmp_path / "pbs_installer"
    older.mkdir()
    (older / "__init__.py").write_text("")
    (older / "_versions.py").write_text("PYTHON_VERSIONS = {}\n")
    monkeypatch.delitem(sys.modules, "pbs_installer", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BadDownloadsFile) as info:
        downloads_from_pbs_installer(LINUX)
    assert info.value.message.startswith("cannot read the release table of pbs-installer (")
    assert f"upgrade it to {PBS_INSTALLER_WITH_TABLE} or later" in info.value.hint
    assert "pip install --upgrade pbs-installer" in info.value.hint


def test_the_pbs_installer_anyvenv_requires_ships_its_table_file() -> None:
    """pyproject.toml's floor is the first release with versions.json, not an older one that
    pip would keep where a user already has it."""
    import tomllib

    from anyvenv.pythons.sources import PBS_INSTALLER_WITH_TABLE

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    wanted = [d for d in pyproject["project"]["dependencies"] if d.startswith("pbs-installer")]
    assert wanted == [f"pbs-installer>={PBS_INSTALLER_WITH_TABLE}"]


def test_install_name_matches_uv_and_discovery() -> None:
    from anyvenv.interpreter.discovery import parse_managed_name

    plain, threaded = download((3, 12, 9)), download((3, 13, 2), threaded=True)
    assert plain.install_name == "cpython-3.12.9-linux-x86_64-gnu"
    assert threaded.install_name == "cpython-3.13.2+freethreaded-linux-x86_64-gnu"
    assert parse_managed_name(plain.install_name) == ((3, 12, 9), False)
    assert parse_managed_name(threaded.install_name) == ((3, 13, 2), True)
    assert threaded.executable_name == "python3.13t"
    assert plain.release == "20250101"
    assert plain.filename.startswith("cpython-3.12.9+20250101-")


def test_select_newest_matching_and_plain_unless_free_threaded_is_asked() -> None:
    builds = [
        download((3, 13, 2), True),
        download((3, 13, 2)),
        download((3, 12, 9)),
        download((3, 12, 8)),
    ]
    assert select_download("3.12", builds).version == (3, 12, 9)
    assert select_download("3.12.8", builds).version == (3, 12, 8)
    assert select_download("3.13", builds).free_threaded is False
    assert select_download("3.13t", builds).free_threaded is True
    assert select_download(">=3.12,<3.13", builds).version == (3, 12, 9)
    assert select_download("cpython-3.12", builds).version == (3, 12, 9)


def test_unknown_version_names_what_is_known() -> None:
    with pytest.raises(NoSuchDownload) as caught:
        select_download("3.99", [download((3, 12, 9)), download((3, 11, 4))])
    assert caught.value.exit_code == 2
    assert "known: 3.12, 3.11" in caught.value.one_line()


@pytest.mark.parametrize("request_text", ["/usr/bin/python3", "pypy3", ""])
def test_non_version_requests_are_usage_errors(request_text: str) -> None:
    with pytest.raises(UsageError):
        select_download(request_text, [download((3, 12, 9))])


def test_requests_read_as_uv_reads_them() -> None:
    table = [download((3, 12, 9)), download((3, 11, 4))]
    for text in ("python3.11", "cpython-3.11-linux-x86_64-gnu", "cp311", "3.11+gil"):
        assert select_download(text, table).version == (3, 11, 4), text
    assert select_download("cpython", table).version == (3, 12, 9)


def test_a_build_for_another_platform_is_not_swapped_for_this_ones() -> None:
    with pytest.raises(NoSuchDownload) as caught:
        select_download("cpython-3.12.9-macos-aarch64-none", [download((3, 12, 9))])
    assert "another platform than this one (linux-x86_64-gnu)" in caught.value.one_line()


def test_mirror_replaces_the_github_base(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    item = download((3, 12, 9))
    tail = item.url[len(GITHUB_RELEASE_BASES[0]) :]
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.delenv("UV_PYTHON_INSTALL_MIRROR", raising=False)
    assert download_url(item) == item.url
    assert download_url(item, "https://mirror.example/pbs/") == "https://mirror.example/pbs" + tail
    assert download_url(item, "file:///srv/pbs") == "file:///srv/pbs" + tail
    assert download_url(item, str(tmp_path)) == tmp_path.as_uri() + tail, "a plain path works"
    monkeypatch.setenv("UV_PYTHON_INSTALL_MIRROR", "file:///uv/mirror")
    assert download_url(item) == "file:///uv/mirror" + tail, "uv's, where anyvenv's is unset"
    monkeypatch.setenv(MIRROR_ENV, "file:///env/mirror")
    assert download_url(item) == "file:///env/mirror" + tail
    assert download_url(item, "") == "file:///env/mirror" + tail, "an empty --mirror is none"
    assert download_url(item, "file:///flag") == "file:///flag" + tail, "--mirror wins"
    elsewhere = PythonDownload((3, 12, 9), False, LINUX, "https://example.org/x.tar.gz", SHA)
    assert download_url(elsewhere) == elsewhere.url, "only the GitHub base is replaced"


def uv_entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": "cpython",
        "arch": {"family": "x86_64", "variant": None},
        "os": "linux",
        "libc": "gnu",
        "major": 3,
        "minor": 12,
        "patch": 9,
        "prerelease": "",
        "url": f"{GITHUB_RELEASE_BASES[0]}/20250101/cpython-3.12.9%2B20250101-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz",
        "sha256": SHA,
        "variant": None,
    }
    entry.update(changes)
    return entry


def test_downloads_file_in_uv_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "downloads.json"
    path.write_text(
        json.dumps(
            {
                "cpython-3.12.9-linux-x86_64-gnu": uv_entry(),
                "cpython-3.13.1+freethreaded-linux-x86_64-gnu": uv_entry(
                    minor=13, patch=1, variant="freethreaded"
                ),
                "cpython-3.14.0rc1-linux-x86_64-gnu": uv_entry(minor=14, prerelease="rc1"),
                "cpython-3.12.9+debug-linux-x86_64-gnu": uv_entry(variant="debug"),
                "cpython-3.12.9-linux-x86_64_v3-gnu": uv_entry(
                    arch={"family": "x86_64", "variant": "v3"}
                ),
                "cpython-3.12.9-linux-aarch64-gnu": uv_entry(arch="aarch64"),
                "pypy-3.10.14-linux-x86_64-gnu": uv_entry(name="pypy"),
            }
        )
    )
    parsed = downloads_from_json_file(path)
    assert sorted(item.install_name for item in parsed) == [
        "cpython-3.12.9-linux-aarch64-gnu",
        "cpython-3.12.9-linux-x86_64-gnu",
        "cpython-3.13.1+freethreaded-linux-x86_64-gnu",
    ]
    monkeypatch.setenv(DOWNLOADS_JSON_ENV, str(path))
    here = available_downloads(LINUX)
    assert [item.install_name for item in here] == [
        "cpython-3.13.1+freethreaded-linux-x86_64-gnu",
        "cpython-3.12.9-linux-x86_64-gnu",
    ]
    # uv's variable, where anyvenv's is unset: a local path or file:// URL (a remote one is
    # not fetched: the built-in table then)
    monkeypatch.delenv(DOWNLOADS_JSON_ENV)
    for location in (str(path), path.as_uri()):
        monkeypatch.setenv("UV_PYTHON_DOWNLOADS_JSON_URL", location)
        assert available_downloads(LINUX) == here
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS_JSON_URL", "https://example.org/downloads.json")
    assert available_downloads(LINUX) == available_downloads_builtin(monkeypatch)
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS_JSON_URL", str(path.with_name("gone.json")))
    with pytest.raises(BadDownloadsFile) as caught:
        available_downloads(LINUX)
    assert caught.value.one_line().endswith("; fix or unset UV_PYTHON_DOWNLOADS_JSON_URL")


def available_downloads_builtin(monkeypatch: pytest.MonkeyPatch) -> list[PythonDownload]:
    with monkeypatch.context() as scoped:
        scoped.delenv("UV_PYTHON_DOWNLOADS_JSON_URL", raising=False)
        scoped.delenv(DOWNLOADS_JSON_ENV, raising=False)
        return available_downloads(LINUX)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"x": {"name": "cpython", "os": "linux"}}), "entry 'x' of"),
        (json.dumps({"x": {"name": "cpython", "os": "linux"}}), "is not a download: no 'arch'"),
        (json.dumps({"x": 3}), "is not a download: int, not a table"),  # (an AttributeError)
        (
            json.dumps(
                {
                    "x": {
                        "name": "cpython",
                        "arch": "x86_64",
                        "os": "linux",
                        "libc": "gnu",
                        "major": 3,
                        "minor": 12,
                        "patch": 1,
                        "sha256": 12,
                        "url": "file:///x/cpython-3.12.1-install_only.tar.gz",
                    }
                }
            ),
            "sha256 is int",  # (was a TypeError when verifying)
        ),
    ],
)
def test_bad_downloads_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "downloads.json"
    path.write_text(content)
    with pytest.raises(BadDownloadsFile) as caught:
        downloads_from_json_file(path)
    assert message in caught.value.one_line()


def test_missing_downloads_file(tmp_path: Path) -> None:
    with pytest.raises(BadDownloadsFile, match="cannot read the downloads file"):
        downloads_from_json_file(tmp_path / "absent.json")


def test_a_bad_downloads_file_or_mirror_setting_is_a_usage_error(tmp_path: Path) -> None:
    """The user's setting to fix: exit 2, one line, nothing installed."""
    from support import cli_env, one_line_error, run_cli

    env = cli_env(ANYVENV_PYTHON_DOWNLOADS_JSON=str(tmp_path / "absent.json"))
    where = ("--install-dir", str(tmp_path / "pythons"))
    for command in (["install", "3.12", *where], ["list", "--only-downloads"]):
        proc = run_cli("python", *command, env=env)
        assert proc.returncode == 2, (command, proc.stderr)
        assert "cannot read the downloads file" in one_line_error(proc)
    empty = run_cli("python", "install", "3.12", *where, "--mirror", "")
    assert empty.returncode == 2 and "the --mirror value is empty" in one_line_error(empty)
    assert not (tmp_path / "pythons").exists()
