"""How ``anyvenv check`` says to install a package again where its install stopped
half-way or its files are damaged: ``anyvenv sync`` in a project, else anyvenv's pip, with
where the package came from when its dist-info says."""

from __future__ import annotations

import shlex
from pathlib import Path


def package_of(dist_info: str) -> str:
    """The distribution's name as its ``.dist-info`` directory spells it."""
    return dist_info[: -len(".dist-info")].rsplit("-", 1)[0]


def reinstall_for(env: Path, dist_info: Path) -> str:
    """How a package whose files are damaged is installed again (in a project, by sync)."""
    package = package_of(dist_info.name)
    return reinstall_commands(env, dist_info, f"anyvenv sync --reinstall-package {package}")


def reinstall_commands(env: Path, dist_info: Path, in_project: str) -> str:
    """The commands that install a distribution of ``env`` again: ``in_project`` in a
    project, else anyvenv's pip, with where the package came from when its dist-info says.
    (Plain uv fails where chmod fails, at a half-made install too: anyvenv's pip installs
    anywhere, in uv's own env or not.)"""
    package = package_of(dist_info.name)
    source = _installed_from(dist_info)
    wanted = f"{package} @ {source}" if source else package
    elsewise = (
        f"'anyvenv pip install --python {shlex.quote(str(env))} --reinstall {shlex.quote(wanted)}'"
    )
    if source is None:  # (the name alone is looked up on the index: another package)
        elsewise += ", with its path or URL for the name if it is not from your index"
    return f"'{in_project}' in a project, else {elsewise}"


def _installed_from(dist_info: Path) -> str | None:
    """The URL a package was installed from where its dist-info says (``direct_url.json``,
    PEP 610: a local path or a URL, not an index), else ``None``."""
    import json

    try:
        with open(dist_info / "direct_url.json", "rb") as handle:
            url = json.loads(handle.read(1 << 16)).get("url")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and url and "\n" not in url else None


LOST_AND_REINSTALL = (
    "(an install or copy stopped part-way, or the filesystem lost what was written); "
    "reinstall it ({})"
)
# where files are links this filesystem will not read: uv's link mode symlink made them
UNREADABLE_AND_REINSTALL = (
    "(links into uv's cache, as its link mode symlink makes, which this filesystem will not "
    "read: the package cannot be imported); reinstall it with another link mode ({})"
)
