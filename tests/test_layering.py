"""The layers hold: services talk through topics, never through each other's code.

Every import statement (also the ones inside functions) of every module is read with
`ast`; the rules are those of docs/architecture.md:

- a stage service (scraper, parser, enrichment, indexer) imports only itself,
  `schemas` and `services.common`;
- `services.common` imports no stage service;
- `schemas` imports nothing of `services`;
- nothing under `services/` imports the development tooling (`devtools`), except the CLI's
  `newsflow stack` subcommand, which loads it when it runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("scraper", "parser", "enrichment", "indexer")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend([(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names])
    return found


def violations(folder: Path, allowed: callable) -> list[str]:  # type: ignore[valid-type]
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for line, module in imported_modules(path):
            if (module.startswith("services.") or module.startswith("schemas.") or module in ("services", "schemas")) and not allowed(module):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def _is_stage_module(module: str, stage: str) -> bool:
    return module == f"services.{stage}" or module.startswith(f"services.{stage}.")


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_only_itself_schemas_and_common(stage: str) -> None:
    def allowed(module: str) -> bool:
        return (
            _is_stage_module(module, stage)
            or module in ("schemas", "services", "services.common")
            or module.startswith(("schemas.", "services.common."))
        )

    assert violations(ROOT / "services" / stage, allowed) == []


def test_common_imports_no_stage() -> None:
    def allowed(module: str) -> bool:
        return not any(_is_stage_module(module, stage) for stage in STAGES)

    assert violations(ROOT / "services" / "common", allowed) == []


def test_schemas_import_nothing_of_services() -> None:
    assert violations(ROOT / "schemas", lambda module: not module.startswith("services")) == []


def test_the_checker_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from services.scraper.fetch import Fetcher\n")
    assert (2, "services.scraper.fetch") in imported_modules(module)


def test_operator_tools_import_no_stage_wiring() -> None:
    """`newsflow init`, `status` and the access tools read settings and contracts, never a faust app."""

    def allowed(module: str) -> bool:
        return not any(module == f"services.{stage}.app" or module.startswith(f"services.{stage}.app.") for stage in STAGES)

    assert violations(ROOT / "services" / "ops", allowed) == []


def test_production_code_imports_no_development_tooling() -> None:
    bad = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        for line, module in imported_modules(path):
            if (module == "devtools" or module.startswith("devtools.")) and path.relative_to(ROOT).as_posix() != "services/cli.py":
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert bad == []
    # The CLI's own import is the stack subcommand's, inside functions, and only of the dev stack.
    cli = [module for _, module in imported_modules(ROOT / "services" / "cli.py") if module.startswith("devtools")]
    assert cli and all(module.startswith("devtools.devstack") for module in cli)
    top_level = [n for n in ast.parse((ROOT / "services" / "cli.py").read_text()).body
                 if isinstance(n, (ast.Import, ast.ImportFrom)) and "devtools" in ast.dump(n)]
    assert top_level == []
