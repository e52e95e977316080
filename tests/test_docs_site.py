"""The documentation site (mkdocs.yml, docs/), checked without building it (`make docs` builds it).

* every page under docs/ is in mkdocs.yml's nav, and every nav entry is a page that exists;
* every module an API page renders (a ``::: module`` directive under docs/api/) imports;
* no user-facing file (docs/, README.md, src/) points at internal notes users do not have.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API = DOCS / "api"
MKDOCS_YML = ROOT / "mkdocs.yml"

#: internal notes that are not shipped: user-facing text must not mention them
INTERNAL = ("REFERENCE.md", "DESIGN.md", "shared/seeds")

#: ``::: srmer.sub.module`` at the start of a line (mkdocstrings' autodoc directive)
DIRECTIVE = re.compile(r"^:::\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)


def _config() -> dict:
    return yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8"))


def _nav_pages(node: object) -> Iterator[str]:
    """Every page path in a mkdocs nav (a list of strings, ``{title: page}`` and ``{title: [...]}``)."""
    if isinstance(node, str):
        if "://" not in node:
            yield node
    elif isinstance(node, list):
        for item in node:
            yield from _nav_pages(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _nav_pages(value)


def _pages() -> list[str]:
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def _directives() -> list[tuple[str, str]]:
    found = []
    for page in sorted(API.glob("*.md")):
        for module in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            found.append((page.name, module))
    return found


def test_mkdocs_config_is_plain_yaml():
    config = _config()
    assert config["site_name"] == "srmer"
    assert config["docs_dir"] == "docs"
    assert config["theme"]["name"] == "material"
    assert config.get("nav"), "mkdocs.yml has no nav"


def test_every_page_is_in_the_nav():
    nav = set(_nav_pages(_config()["nav"]))
    missing = [page for page in _pages() if page not in nav]
    assert not missing, f"docs pages not in mkdocs.yml's nav: {missing}"
    assert "index.md" in nav
    assert any(page.startswith("api/") for page in nav)


def test_every_nav_entry_exists():
    nav = list(_nav_pages(_config()["nav"]))
    absent = [page for page in nav if not (DOCS / page).is_file()]
    assert not absent, f"mkdocs.yml's nav names pages that do not exist: {absent}"
    duplicates = sorted({page for page in nav if nav.count(page) > 1})
    assert not duplicates, f"pages listed twice in the nav: {duplicates}"


def test_api_pages_have_directives():
    assert _directives(), "no ::: directive under docs/api/"
    modules = {module for _, module in _directives()}
    for wanted in (
        "srmer.data",
        "srmer.degrade",
        "srmer.sr",
        "srmer.features",
        "srmer.mer",
        "srmer.eval",
        "srmer.bench.config",
        "srmer.bench.runner",
        "srmer.bench.report",
        "srmer.registry",
        "srmer.errors",
        "srmer.fer",
    ):
        assert any(m == wanted or m.startswith(wanted + ".") for m in modules), wanted


@pytest.mark.parametrize(("page", "module"), _directives())
def test_api_module_imports(page, module):
    importlib.import_module(module)


def _user_facing_files() -> Iterator[Path]:
    yield ROOT / "README.md"
    for top in (DOCS, ROOT / "src"):
        for path in sorted(top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
                yield path


def test_no_internal_notes_mentioned():
    offenders = []
    for path in _user_facing_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        for needle in INTERNAL:
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders, "user-facing files mention internal notes:\n" + "\n".join(offenders)
