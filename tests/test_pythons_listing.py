"""What ``python list`` shows (anyvenv.pythons.listing): kinds, order, filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from standalone_build import github_url, write_downloads_json

from anyvenv.interpreter.request import parse_request
from anyvenv.pythons.listing import ListScope, list_pythons
from support import fake_install

NEW, OLD = "cpython-3.12.9-linux-x86_64-gnu", "cpython-3.12.4-linux-x86_64-gnu"
THREADED = "cpython-3.13.2+freethreaded-linux-x86_64-gnu"


@pytest.fixture
def install_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Installs of 3.12.4 and 3.13.2t; downloads of 3.13.2t, 3.12.9 and 3.12.4."""
    root = tmp_path / "pythons"
    fake_install(root, OLD, "python3.12")
    fake_install(root, THREADED, "python3.13t")
    downloads = write_downloads_json(
        tmp_path / "downloads.json",
        {
            THREADED: ((3, 13, 2), github_url("3.13.2"), "0" * 64),
            NEW: ((3, 12, 9), github_url("3.12.9"), "0" * 64),
            OLD: ((3, 12, 4), github_url("3.12.4"), "0" * 64),
        },
    )
    monkeypatch.setenv("ANYVENV_PYTHON_DOWNLOADS_JSON", str(downloads))
    return str(root)


def rows(request: str | None, **scope: Any) -> list[tuple[str, str]]:
    found = list_pythons(parse_request(request), ListScope(**scope))
    return [(row.key, row.kind) for row in found.rows]


def test_installed_builds_replace_their_download_and_older_patches_are_hidden(
    install_dir: str,
) -> None:
    assert rows(None, install_dir=install_dir) == [
        (THREADED, "managed"),
        (NEW, "download"),
        (OLD, "managed"),  # installed: shown though not the newest patch
    ]
    every = rows(None, install_dir=install_dir, installed=False, every_patch=True)
    # (downloads only, as uv's --only-downloads: the installed builds as downloads too)
    assert every == [(THREADED, "download"), (NEW, "download"), (OLD, "download")]
    assert rows(None, install_dir=install_dir, downloads=False) == [
        (THREADED, "managed"),
        (OLD, "managed"),
    ]


def test_requests_and_preferences_filter(install_dir: str) -> None:
    assert rows("3.12.9", install_dir=install_dir) == [(NEW, "download")]
    assert rows("3.13t", install_dir=install_dir) == [(THREADED, "managed")]
    assert rows(">=3.13", install_dir=install_dir) == [(THREADED, "managed")]
    assert rows("cpython-3.12-linux-aarch64-gnu", install_dir=install_dir) == []
    assert rows(None, install_dir=install_dir, preference="only-system") == []
    downloads = list_pythons(parse_request("3.12.9"), ListScope(install_dir=install_dir)).rows
    assert downloads[0].url == github_url("3.12.9") and downloads[0].path is None
    assert downloads[0].to_json()["installed"] is None
