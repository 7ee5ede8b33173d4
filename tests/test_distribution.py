"""What the built distributions take from the repository (pyproject.toml's build settings)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_sdist_takes_every_tracked_top_level_entry_and_nothing_else() -> None:
    """Its include list names what git tracks (a dev venv or bench work files beside them
    stay out); a new top-level file or directory must be added to it, or left out on
    purpose here."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist): what git tracks is not known")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    top = {"/" + path.split("/")[0] for path in tracked} - {"/.gitignore"}
    sdist = _pyproject()["tool"]["hatch"]["build"]["targets"]["sdist"]
    assert set(sdist["include"]) == top


def test_the_license_is_shipped_and_the_version_kept_in_one_place() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "version" not in project and project["dynamic"] == ["version"]
    version = _pyproject()["tool"]["hatch"]["version"]
    assert version == {"path": "src/anyvenv/__init__.py"}
