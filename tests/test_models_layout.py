"""models/ keeps the layout docs/model.md's module map describes.

The two strategies never import each other; what both engines share (``models.decision``) and
the shared modules at the top import neither strategy, except the modules that assemble a node
or a swarm (``models.peer``, ``models.swarm``) and need the strategies' classes. Imports made
only for type checking count too: the contract between a peer and its client is a Protocol
(``models.client``), not the peer's class.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parent.parent / "models"
ASSEMBLY = {"models.peer", "models.swarm"}
STRATEGIES = ("models.master", "models.poc")


def _module(path: Path) -> str:
    parts = path.relative_to(MODELS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


MODULES = {_module(p): _imports(p) for p in sorted(MODELS.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_module_map(module):
    imports = MODULES[module]
    own = next((s for s in STRATEGIES if _within(module, s)), None)
    allowed = set(STRATEGIES) if module in ASSEMBLY else {own} if own else set()
    for name in imports:
        for strategy in STRATEGIES:
            if _within(name, strategy):
                assert strategy in allowed, f"{module} imports {name}"
    if module != "models.peer" and module not in ASSEMBLY:
        assert not any(_within(n, "models.peer") for n in imports), f"{module} imports Peer"


def test_every_models_package_has_an_init():
    for folder in [MODELS, *(p for p in MODELS.rglob("*") if p.is_dir())]:
        if folder.name != "__pycache__" and any(folder.glob("*.py")):
            assert (folder / "__init__.py").exists(), folder
