"""anyvenv's errors: what a library caller gets, also back from another process."""

from __future__ import annotations

import pickle

import pytest

from anyvenv.errors import AnyvenvError, DirectoryNotWritable, UsageError
from anyvenv.project.prepare import EnvLeftAlone


@pytest.mark.parametrize(
    "error",
    [
        AnyvenvError("what", "do this"),
        UsageError("bad", None),
        DirectoryNotWritable("ro", "remount", reason="it is read-only", read_only=True),
        EnvLeftAlone("/p/.venv"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_error_survives_pickling_with_its_attributes(error: AnyvenvError) -> None:
    """A process pool sends errors back pickled: one whose __init__ takes more than the
    message (DirectoryNotWritable) must come back whole, not break the pool."""
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert vars(back) == vars(error)
    assert str(back) == str(error) and back.one_line() == error.one_line()


def test_one_line_joins_a_message_of_several_lines() -> None:
    assert AnyvenvError("first\n  second", "fix it").one_line() == "first second; fix it"


def test_a_refused_write_is_told_by_what_refused_it() -> None:
    import errno

    read_only = DirectoryNotWritable.refusing(OSError(errno.EROFS, "x"), "cannot create /m/x")
    assert read_only is not None and read_only.read_only
    assert read_only.message == "cannot create /m/x: it is on a read-only filesystem"
    denied = DirectoryNotWritable.refusing(PermissionError(errno.EACCES, "x"), "cannot probe /d")
    assert denied is not None and not denied.read_only
    assert denied.reason == "you may not write to it (EACCES)"
    assert DirectoryNotWritable.refusing(OSError(errno.ENOSPC, "x"), "cannot create /x") is None
