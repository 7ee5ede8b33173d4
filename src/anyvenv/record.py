"""Small frozen records and string choices for the modules that must import fast.

``dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``, ``enum``, ``re``),
and ``enum`` imports ``functools`` and ``collections``: together more start-up time than all of
``anyvenv venv``'s own work. The types on that path are made with these instead:

- :func:`record`: fields from the class annotations, in order, class attributes as defaults
  (:func:`field` for a default made anew each time); mypy reads a record as a frozen dataclass;
- :func:`mutable_record`: the same, with fields that can be assigned (and no hash), as a
  plain ``@dataclass``;
- :class:`StrChoice`: ``class Strategy(str, StrChoice)`` with ``NAME = "value"`` members, looked
  up by value (``Strategy("copy")``), compared by identity, with ``.value`` and ``.name``;
  mypy reads it as ``(str, enum.Enum)``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    R = TypeVar("R")
    T = TypeVar("T")
else:

    def dataclass_transform(**_options):
        return lambda decorator: decorator


__all__ = [
    "FrozenRecordError",
    "StrChoice",
    "as_dict",
    "field",
    "fields_of",
    "mutable_record",
    "record",
    "replace",
]


class FrozenRecordError(AttributeError):
    """A record's fields cannot be assigned after it is made."""


_NO_DEFAULT = object()


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is ``default_factory()``, made for each record (a list, a dict)."""
    return _Factory(default_factory)  # type: ignore[return-value]


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[R]) -> type[R]:
    """Give ``cls`` an ``__init__`` taking its annotated fields (positionally or by name),
    equality and a hash over them, a ``repr``, and no assignment after ``__init__``."""
    return _make_record(cls, frozen=True)


@dataclass_transform(field_specifiers=(field,))
def mutable_record(cls: type[R]) -> type[R]:
    """Like :func:`record`, but fields can be assigned after ``__init__`` and there is no hash."""
    return _make_record(cls, frozen=False)


def _make_record(cls: type[R], frozen: bool) -> type[R]:
    fields: tuple[str, ...] = ()
    defaults: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        own = klass.__dict__.get("__annotations__")  # noqa: RUF063 - no inspect here
        if own is None and "__annotate__" in klass.__dict__:  # 3.14+: made on first access
            own = klass.__annotations__
        for name in own or ():
            if name not in fields:
                fields += (name,)
            default = klass.__dict__.get(name, _NO_DEFAULT)
            if default is not _NO_DEFAULT:
                defaults[name] = default
    required = tuple(name for name in fields if name not in defaults)

    def __init__(self: Any, *args: object, **kwargs: object) -> None:
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} fields, got {len(args)}")
        values = dict(zip(fields, args, strict=False))  # fewer args than fields: the rest by name
        for name, value in kwargs.items():
            if name not in fields:
                raise TypeError(f"{cls.__name__}() got an unexpected field {name!r}")
            if name in values:
                raise TypeError(f"{cls.__name__}() got field {name!r} twice")
            values[name] = value
        missing = [name for name in required if name not in values]
        if missing:
            raise TypeError(f"{cls.__name__}() is missing {', '.join(missing)}")
        for name in fields:
            if name in values:
                value = values[name]
            else:
                value = defaults[name]
                if value.__class__ is _Factory:
                    value = value.make()
            object.__setattr__(self, name, value)

    def _values(self: Any) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in fields)

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return bool(_values(self) == _values(other))

    def __hash__(self: Any) -> int:
        return hash(_values(self))

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields)
        return f"{cls.__qualname__}({inner})"

    def __setattr__(self: Any, name: str, value: object) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r} of a {cls.__name__}")

    def __delattr__(self: Any, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r} of a {cls.__name__}")

    own = (__init__, __eq__, __repr__)
    for function in own + ((__hash__, __setattr__, __delattr__) if frozen else ()):
        function.__qualname__ = f"{cls.__qualname__}.{function.__name__}"
        setattr(cls, function.__name__, function)
    if not frozen:
        setattr(cls, "__hash__", None)  # noqa: B010 - equal by value, so unhashable
    setattr(cls, "__record_fields__", fields)  # noqa: B010 - not a declared attribute
    # what a dataclass has, for code that takes a record for the dataclass its type says it
    # is: pattern matching by position, copy.replace (3.13+), and dataclasses' functions
    setattr(cls, "__match_args__", fields)  # noqa: B010
    setattr(cls, "__replace__", replace)  # noqa: B010
    setattr(cls, "__dataclass_fields__", _DATACLASS_FIELDS)  # noqa: B010
    setattr(cls, "__dataclass_params__", _DATACLASS_PARAMS)  # noqa: B010 - pprint reads it
    setattr(cls, "__record_frozen__", frozen)  # noqa: B010
    return cls


class _DataclassFields:
    """A record class's ``__dataclass_fields__``, made on first use (``dataclasses`` imported
    then, not at start-up): ``dataclasses.fields``, ``asdict``, ``astuple``, ``replace`` and
    ``is_dataclass`` then take records as they take frozen dataclasses."""

    def __get__(self, obj: object, cls: type) -> dict[str, Any]:
        import dataclasses

        annotations: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            annotations.update(getattr(klass, "__annotations__", None) or {})
        made: dict[str, Any] = {}
        for name in fields_of(cls):
            made[name] = made_field = dataclasses.field()
            made_field.name, made_field.type = name, annotations.get(name, "Any")
            made_field._field_type = getattr(dataclasses, "_FIELD", None)
        type.__setattr__(cls, "__dataclass_fields__", made)  # (made once per class)
        return made


class _DataclassParams:
    """A record class's ``__dataclass_params__`` (what ``@dataclass`` was given), made on
    first use: ``pprint`` reads it of anything ``is_dataclass`` takes."""

    def __get__(self, obj: object, cls: type) -> Any:
        from types import SimpleNamespace

        params = SimpleNamespace(
            init=True,
            repr=True,
            eq=True,
            order=False,
            unsafe_hash=False,
            frozen=getattr(cls, "__record_frozen__", True),
            match_args=True,
            kw_only=False,
            slots=False,
            weakref_slot=False,
        )
        type.__setattr__(cls, "__dataclass_params__", params)  # (made once per class)
        return params


_DATACLASS_FIELDS = _DataclassFields()
_DATACLASS_PARAMS = _DataclassParams()


def fields_of(obj: object) -> tuple[str, ...]:
    """The field names of a record (class or instance), in order."""
    names: tuple[str, ...] = getattr(obj, "__record_fields__")  # noqa: B009
    return names


def as_dict(obj: object) -> dict[str, Any]:
    """A record's fields and values (shallow: nested records stay records)."""
    return {name: getattr(obj, name) for name in fields_of(obj)}


class _ChoiceMeta(type):
    """Turns the ``UPPER = "value"`` attributes of a :class:`StrChoice` class into its members."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> _ChoiceMeta:
        cls = super().__new__(mcls, name, bases, namespace)
        members: dict[str, Any] = {}
        for key, value in namespace.items():
            if key.isupper() and not key.startswith("_") and isinstance(value, str):
                member: Any = str.__new__(cls, value)  # type: ignore[arg-type]
                members[value] = member
                setattr(cls, key, member)
        cls._members = members  # type: ignore[attr-defined]
        cls._names = {value: key for key, value in namespace.items() if value in members}  # type: ignore[attr-defined]
        return cls

    def __call__(cls, value: object) -> Any:
        try:
            return cls._members[value]  # type: ignore[attr-defined]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not a valid {cls.__name__}") from None

    def __iter__(cls) -> Any:
        return iter(cls._members.values())  # type: ignore[attr-defined]

    def __len__(cls) -> int:
        return len(cls._members)  # type: ignore[attr-defined]


if TYPE_CHECKING:
    from enum import Enum as StrChoice
else:

    class StrChoice(metaclass=_ChoiceMeta):
        """Mixed in after ``str``: ``class Strategy(str, StrChoice)``."""

        __slots__ = ()

        @property
        def value(self):
            return str.__str__(self)

        @property
        def name(self):
            return type(self)._names[str.__str__(self)]

        def __repr__(self):
            return f"<{type(self).__name__}.{self.name}: {self.value!r}>"

        def __reduce__(self):
            return type(self), (self.value,)


def replace(obj: R, **changes: Any) -> R:
    """A copy of the record ``obj`` with ``changes`` (like ``dataclasses.replace``)."""
    values = as_dict(obj)
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {', '.join(sorted(unknown))}")
    values.update(changes)
    return type(obj)(**values)
