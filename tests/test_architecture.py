"""The dependency direction of the packages, read from their imports:
webmap -> tiles -> layers -> gisdb, the command line (scripts) on top."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "gisdb": {"gisdb"},
    "layers": {"gisdb", "layers"},
    "tiles": {"gisdb", "layers", "tiles"},
    "webmap": {"gisdb", "layers", "tiles", "webmap"},
}
PROJECT_PACKAGES = {"gisdb", "layers", "tiles", "webmap", "scripts"}
WEB_ONLY = {"flask", "folium"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_packages(package):
    bad = []
    for path in _files(package):
        used = _imports(path) & PROJECT_PACKAGES
        for name in used - ALLOWED[package]:
            bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "dependency direction broken:\n" + "\n".join(bad)


@pytest.mark.parametrize("package", ["gisdb", "layers", "tiles", "scripts"])
def test_only_webmap_imports_flask_or_folium(package):
    bad = [str(p.relative_to(ROOT)) for p in _files(package) if _imports(p) & WEB_ONLY]
    assert not bad, f"only webmap may import flask/folium: {bad}"


def test_the_checker_sees_imports(tmp_path):
    """The reader of imports itself must notice a forbidden import."""
    probe = tmp_path / "probe.py"
    probe.write_text("from webmap.app import create_app\nimport flask\n")
    assert {"webmap", "flask"} <= _imports(probe)
