"""The project's own files, kept safe while ``uv add`` or ``uv remove`` rewrites them.

uv rewrites pyproject.toml in place and then copies its mode back with fchmod. Where chmod
fails (FAT: ENOSYS) that fchmod fails after the file was already rewritten, and fusefat
corrupts a file truncated in place, so a failed ``uv add`` can leave a pyproject.toml that is
no longer TOML. The guard keeps the bytes of every pyproject.toml of the workspace and of
uv.lock before uv runs and, if uv fails, puts back each one that changed (a new file renamed
over it), and removes a uv.lock that was not there before.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from anyvenv.project.model import Project

PROJECT_FILE_LIMIT = 16 * 1024 * 1024  # larger files are not kept (and not put back)


def guarded_files(project: Project) -> list[str]:
    """The files ``uv add``/``uv remove`` may rewrite: each member's pyproject.toml (the root's
    too) and the workspace's uv.lock."""
    directories = dict.fromkeys([project.workspace_root, project.root, *project.members])
    files = [os.path.join(directory, "pyproject.toml") for directory in directories]
    return [*files, os.path.join(project.workspace_root, "uv.lock")]


class EditGuard:
    """``guard = EditGuard(project)`` before uv runs; ``guard.failed()`` when it failed."""

    def __init__(self, project: Project) -> None:
        from anyvenv.fs.atomic import read_small_file

        self.kept: dict[str, bytes | None] = {}  # None: the file was not there
        for path in guarded_files(project):
            if not os.path.lexists(path):
                self.kept[path] = None
                continue
            data = read_small_file(path, PROJECT_FILE_LIMIT)
            if data is not None:  # unreadable or too large: not kept, never touched
                self.kept[path] = data
        self.restored: list[str] = []
        self.not_restored: list[str] = []  # changed, but putting it back failed too

    def failed(self) -> list[str]:
        """Put back what uv changed; returns the paths put back (or removed)."""
        from anyvenv.fs.atomic import atomic_write, read_small_file

        for path, before in self.kept.items():
            try:
                if before is None:
                    if os.path.isfile(path) and not os.path.islink(path):
                        os.unlink(path)  # uv wrote a file that was not there
                        self.restored.append(path)
                elif read_small_file(path, PROJECT_FILE_LIMIT) != before:
                    atomic_write(path, before)
                    self.restored.append(path)
            except OSError:
                self.not_restored.append(path)
        return self.restored
