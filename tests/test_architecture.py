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


def _defines_blueprint(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Blueprint"
               for node in ast.walk(tree))


def _sibling_imports(path: Path) -> set[str]:
    """Modules of the same package a module imports relatively (`from .x import`,
    `from . import x`), wherever the import stands (functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    return names


def test_no_views_module_imports_another():
    """A views module (one that defines a Blueprint) takes what it shares with other
    views from a module that is not a view (tile_services, tile_http, responses, ...)."""
    views = {p.stem for p in (ROOT / "webmap").glob("*.py") if _defines_blueprint(p)}
    assert {"ogc_views", "vector_tile_views", "png_tile_views", "raster_views"} <= views
    bad = [f"webmap/{name}.py imports webmap/{other}.py"
           for name in sorted(views)
           for other in sorted(_sibling_imports(ROOT / "webmap" / f"{name}.py") & views)]
    assert not bad, "views import views:\n" + "\n".join(bad)


def test_the_views_checker_sees_blueprints_and_sibling_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from flask import Blueprint\nbp = Blueprint('x', __name__)\n"
                     "def f():\n    from .other_views import g\n    from . import third\n")
    assert _defines_blueprint(probe)
    assert _sibling_imports(probe) == {"other_views", "third"}
