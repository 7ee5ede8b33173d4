"""The layers of the code, kept: each package imports only those below it (imports inside
functions count too), so the filesystem primitives never depend on env layout, env layout
never on projects, and only the CLI on the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "anyvenv"

# lowest first; a module may import its own layer and those before it
LAYERS = [
    {"errors", "record", "spawn", "userdirs", "killpoints", "uvbinary", "signals"},  # for all
    {"fs"},  # probe, link/copy/atomic/lock primitives
    {"interpreter"},  # finding a Python, and what it is
    {"pythons"},  # managed CPython builds
    {"envbuild"},  # env layout and creation (create() may download a Python)
    {"repair"},  # check and repair: clients of the env layout
    {"project"},  # uv projects: sync, run, pip, lock
    {"doctor", "caches"},  # advice for a directory; cache dir/clean/prune
    {"cli", "__main__", "__init__"},  # parsing and printing (the package's lazy API too)
]
LEVEL = {name: index for index, names in enumerate(LAYERS) for name in names}


def _part(module: str) -> str:
    """The layer name of ``anyvenv.X...``: X (``__init__`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module.removesuffix(".__init__")
        if path.name == "__init__.py"
        else (module.rpartition(".")[0])
    )
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:  # (relative: from its package)
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])])))
        elif isinstance(node, ast.ImportFrom) and node.module == "anyvenv":  # (its submodules)
            found += [
                (node.lineno, f"anyvenv.{a.name}") for a in node.names if a.name != "__version__"
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name.split(".")[0] == "anyvenv"]


def test_every_module_is_in_a_layer() -> None:
    parts = {_part("anyvenv." + p.relative_to(SRC).with_suffix("").as_posix().replace("/", "."))
             for p in SRC.rglob("*.py")}  # fmt: skip
    assert parts <= set(LEVEL), sorted(parts - set(LEVEL))


def test_no_package_imports_one_above_it() -> None:
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        module = "anyvenv." + path.relative_to(SRC).with_suffix("").as_posix().replace("/", ".")
        own = LEVEL[_part(module)]
        for line, name in _imports(path, module):
            if name == "anyvenv":
                continue  # (import anyvenv: the package itself)
            if LEVEL[_part(name)] > own:
                upward.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    assert upward == []


def test_only_the_cli_prints() -> None:
    """Below the CLI, code returns what is to be said (notes, warnings, findings) or tells a
    callback; it never writes to the terminal itself (a library user's own output is theirs).
    Code written into scripts, which prints in its own process, is a string: not counted."""
    printing = []
    for path in sorted(SRC.rglob("*.py")):
        module = "anyvenv." + ".".join(path.relative_to(SRC).with_suffix("").parts)
        if _part(module) in {"cli", "__main__"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Name) and func.id == "print":
                printing.append(f"{module}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr == "write":  # sys.stderr.write
                text = ast.unparse(node.value)
                if text.startswith(("sys.stdout", "sys.stderr")):
                    printing.append(f"{module}:{node.lineno} {text}.write")
    assert printing == [], printing
