"""The light records and string choices used where start-up time counts (anyvenv.record)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest

import anyvenv
from anyvenv.record import (
    FrozenRecordError,
    StrChoice,
    as_dict,
    field,
    fields_of,
    mutable_record,
    record,
    replace,
)


@record
class Point:
    x: int
    y: int = 0
    label: str = "p"


@mutable_record
class Tally:
    name: str
    seen: list[str] = field(default_factory=list)
    count: int = 0


class Colour(str, StrChoice):
    RED = "red"
    GREEN = "green"


def test_fields_in_order_with_defaults_positional_and_by_name() -> None:
    assert fields_of(Point) == ("x", "y", "label")
    assert as_dict(Point(1)) == {"x": 1, "y": 0, "label": "p"}
    assert as_dict(Point(1, 2, label="q")) == {"x": 1, "y": 2, "label": "q"}
    assert Point(y=5, x=4).y == 5


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing x"),
        ((1, 2, "a", 4), {}, "takes 3 fields"),
        ((1,), {"x": 2}, "field 'x' twice"),
        ((1,), {"z": 2}, "unexpected field 'z'"),
    ],
)
def test_wrong_construction_is_a_type_error(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        Point(*args, **kwargs)  # type: ignore[arg-type]


def test_equality_hash_and_repr_like_a_frozen_dataclass() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(1, 3)
    assert len({Point(1, 2), Point(1, 2)}) == 1
    assert repr(Point(1, 2)) == "Point(x=1, y=2, label='p')"
    assert Point(1) != (1, 0, "p")


def test_a_mutable_record_is_assigned_and_its_factory_defaults_are_its_own() -> None:
    first, second = Tally("a"), Tally("b")
    first.seen.append("x")
    first.count += 1
    assert (first.seen, second.seen, first.count) == (["x"], [], 1)
    assert Tally("a", ["x"], 1) == first
    with pytest.raises(TypeError, match="unhashable"):
        hash(first)
    assert fields_of(Tally) == ("name", "seen", "count")
    assert repr(second) == "Tally(name='b', seen=[], count=0)"


def test_fields_cannot_be_assigned_or_deleted() -> None:
    point = Point(1)
    with pytest.raises(FrozenRecordError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.y  # type: ignore[misc]
    assert point.x == 1


def test_a_subclass_adds_fields_after_its_parents() -> None:
    @record
    class Labelled(Point):
        colour: str = "red"

    assert fields_of(Labelled) == ("x", "y", "label", "colour")
    assert Labelled(1, colour="blue").colour == "blue"


def test_choices_are_strings_looked_up_by_value() -> None:
    assert Colour("red") is Colour.RED
    assert Colour.RED == "red" and isinstance(Colour.RED, str)
    assert (Colour.RED.value, Colour.RED.name) == ("red", "RED")
    assert list(Colour) == [Colour.RED, Colour.GREEN]
    assert f"{Colour.GREEN}" == "green"
    assert pickle.loads(pickle.dumps(Colour.GREEN)) is Colour.GREEN
    with pytest.raises(ValueError, match="'blue' is not a valid Colour"):
        Colour("blue")
    with pytest.raises(ValueError):
        Colour(["red"])  # unhashable: still a ValueError, as with enum


# What the light types are for: the modules of a path, and the slow ones it must not load.
LIGHT_PATHS = {
    # anyvenv venv: none of these at all
    "venv": (
        "anyvenv.cli.fastpath anyvenv.cli.venv anyvenv.envbuild.create anyvenv.envbuild.builder "
        "anyvenv.envbuild.activation",
        "dataclasses enum pathlib subprocess json re argparse typing contextlib inspect shutil "
        "tempfile threading",
    ),
    # anyvenv sync on local disk: tomllib (with typing) only when a pyproject.toml's bytes
    # were not parsed before (see test_tomlcache.py); re only for a Python asked for by name
    # and for workspace globs; none of the others (see test_sync.py for a whole fresh sync)
    "sync": (
        "anyvenv.cli.fastpath anyvenv.cli.sync anyvenv.cli.run anyvenv.project.sync "
        "anyvenv.envbuild.builder anyvenv.envbuild.activation anyvenv.fs.probe "
        "anyvenv.envbuild.dists anyvenv.interpreter.discovery anyvenv.spawn "
        "anyvenv.project.model anyvenv.project.tomlcache anyvenv.project.uvcache "
        "anyvenv.project.inputfiles anyvenv.project.uvlock anyvenv.fs.lock",
        "dataclasses subprocess argparse json csv shutil inspect tempfile threading tomllib typing "
        "pathlib re enum fnmatch contextlib",
    ),
    # anyvenv probe: none of these at all
    "probe": (
        "anyvenv.cli.fastpath anyvenv.cli.probe anyvenv.cli.plainargs anyvenv.fs.probe "
        "anyvenv.cli.output",
        "dataclasses enum pathlib subprocess json re argparse typing contextlib inspect shutil "
        "tempfile threading",
    ),
    # anyvenv check: pathlib (and re and enum, with it) for now, none of the others
    "check": (
        "anyvenv.cli.fastpath anyvenv.cli.check anyvenv.repair.diagnose anyvenv.repair.running "
        "anyvenv.project.envchoice",
        "dataclasses subprocess argparse json shutil inspect tempfile threading typing "
        "contextlib hashlib",
    ),
}


@pytest.mark.parametrize("path", sorted(LIGHT_PATHS))
def test_importing_a_start_up_path_loads_none_of_the_slow_modules(path: str) -> None:
    modules, slow = LIGHT_PATHS[path]
    source_root = os.path.dirname(os.path.dirname(anyvenv.__file__))
    code = (
        f"import sys; sys.path.insert(0, {source_root!r})\n"
        f"import {', '.join(modules.split())}\n"
        f"print(' '.join(sorted(set({slow.split()!r}) & set(sys.modules))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_replace_makes_a_changed_copy() -> None:
    point = Point(1, 2)
    assert replace(point, y=3) == Point(1, 3)
    assert point.y == 2
    with pytest.raises(TypeError, match="no field z"):
        replace(point, z=1)


def test_a_record_is_taken_as_the_frozen_dataclass_its_type_says_it_is() -> None:
    """Code that type-checks runs: mypy reads a record as a frozen dataclass, so a user may
    pass one to dataclasses' functions, match it by position or copy.replace it."""
    import copy
    import dataclasses

    point = Point(1, 2)
    assert dataclasses.is_dataclass(point) and dataclasses.is_dataclass(Point)
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "label"]
    # each field's type as a dataclass gives it (the annotation, a string under the future
    # import), for code that reads types from fields (serializers, pydantic, cattrs)
    assert [f.type for f in dataclasses.fields(Point)] == ["int", "int", "str"]
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "label": "p"}
    assert dataclasses.astuple(point) == (1, 2, "p")
    assert dataclasses.replace(point, y=3) == Point(1, 3)
    match point:
        case Point(x, y, label):
            assert (x, y, label) == (1, 2, "p")
        case _:
            pytest.fail("a record is matched by position")
    if hasattr(copy, "replace"):  # (3.13+)
        assert copy.replace(point, label="q") == Point(1, 2, "q")
    info = dataclasses.asdict(Tally("t"))
    assert info == {"name": "t", "seen": [], "count": 0}
    # pprint reads the params of a dataclass too wide for a line (then prints its repr)
    import pprint

    wide = Point(1, 2, label="x" * 90)
    assert pprint.pformat(wide, width=40) == repr(wide)
    assert pprint.pformat(anyvenv.probe("/tmp"), width=60).startswith("ProbeResult(path='/tmp',")
