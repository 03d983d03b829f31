"""The house's rules, checked on the source: the layers of .importlinter (run by import-linter
itself), engine names compared only where engines are chosen, modules of a readable size, and the
package list that the wheel is built from."""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sqlml"
#: Where engine names may be compared: the routing module (which chooses the engine) and the
#: backends themselves (ARCHITECTURE.md, "Where engine names live").
ENGINE_PLACES = (PACKAGE / "core" / "routing", PACKAGE / "backends")
ENGINES = ("duckdb", "spark", "auto")
MAX_LINES = 600


def test_import_layers_hold() -> None:
    """lint-imports exits 0 when every contract of .importlinter is kept (imports inside
    functions count; only `if TYPE_CHECKING:` imports are exempt, as the file says)."""
    linter = pathlib.Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": str(linter.parent), "PYTHONPATH": str(ROOT / "udfs")},
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_the_layers_contract_names_every_top_level_module() -> None:
    """A new module or package of sqlml must be placed in a layer (else nothing checks it)."""
    text = (ROOT / ".importlinter").read_text()
    block = text.split("layers =", 1)[1].split("[importlinter:", 1)[0]
    placed = {name.strip() for line in block.splitlines() for name in re.split(r"[|:]", line)}
    modules = {
        f"sqlml.{p.stem if p.is_file() else p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()
    }
    modules.discard("sqlml._assets")  # package data (SQL and Markdown), no Python
    assert modules - placed == set()


def _engine_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing something with an engine name (==, !=, in / not in a literal collection)
    or asking isinstance(..., SparkBackend / DuckDBBackend)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            literals = []
            for operand in operands:
                if isinstance(operand, ast.Constant):
                    literals.append(operand.value)
                elif isinstance(operand, (ast.Tuple, ast.List, ast.Set)):
                    literals += [e.value for e in operand.elts if isinstance(e, ast.Constant)]
            if any(isinstance(v, str) and v in ENGINES for v in literals):
                found.append(node.lineno)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
            names = ast.unparse(node.args[1]) if len(node.args) > 1 else ""
            if "SparkBackend" in names or "DuckDBBackend" in names:
                found.append(node.lineno)
    return found


def test_engine_names_are_compared_only_in_routing_and_the_backends() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(place in path.parents for place in ENGINE_PLACES):
            continue
        for line in _engine_comparisons(ast.parse(path.read_text())):
            offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        'if engine == "spark": pass',
        'if backend.name != "duckdb": pass',
        'ok = forced in ("duckdb", "auto")',
        "ok = isinstance(backend, SparkBackend)",
    ],
)
def test_the_engine_scan_finds_comparisons(source: str) -> None:
    assert _engine_comparisons(ast.parse(source)) == [1]


def test_no_module_is_over_the_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "udfs").rglob("*.py")])
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_wheel_lists_every_package() -> None:
    """pyproject.toml lists the packages explicitly (udfs/ maps onto sqlml_udfs): each folder
    with an __init__.py must be there, or an installed sqlml lacks it."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")} | {
        "sqlml_udfs",
        "sqlml._assets",
    }  # _assets: package data
    assert found == listed


def _splices(tree: ast.AST) -> list[int]:
    """Lines that read ``meta["span"]`` or splice text by offsets: ``s[:i] + x + s[j:]`` (a
    slice with a computed bound, concatenated) or ``[s[i:j], ...]`` pieces for a join."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value == "span"
        ):
            found.append(node.lineno)
        if isinstance(node, (ast.BinOp, ast.List)) and any(
            isinstance(part, ast.Subscript)
            and isinstance(part.slice, ast.Slice)
            and any(
                bound is not None and not isinstance(bound, ast.Constant)
                for bound in (part.slice.lower, part.slice.upper)
            )
            and "sql" in ast.unparse(part.value).lower()
            for part in ([node.left, node.right] if isinstance(node, ast.BinOp) else node.elts)
        ):
            found.append(node.lineno)
    return sorted(set(found))


def test_sql_text_is_rewritten_only_by_the_planner() -> None:
    """ML calls become named slots once, in sqlml.plan.slots (sqlml.sql only parses); nothing
    else cuts SQL text at character offsets."""
    allowed = (PACKAGE / "plan", PACKAGE / "sql")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(place in path.parents for place in allowed):
            continue
        offenders += [
            f"{path.relative_to(ROOT)}:{n}" for n in _splices(ast.parse(path.read_text()))
        ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "sql = sql[:start] + name + sql[end:]",
        "pieces = [job.sql[position:start], slot]",
        'span = node.meta["span"]',
    ],
)
def test_the_splice_scan_finds_offset_rewrites(source: str) -> None:
    assert _splices(ast.parse(source)) == [1]


def test_one_fidelity_check_and_one_fingerprint() -> None:
    """Both trainers use training/contract.py's check_fidelity and fingerprint; nobody else
    defines their own."""
    defined = {
        name: [
            str(p.relative_to(ROOT))
            for p in sorted(PACKAGE.rglob("*.py"))
            for node in ast.walk(ast.parse(p.read_text()))
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") == name
        ]
        for name in ("check_fidelity", "fingerprint")
    }
    assert defined == {
        "check_fidelity": ["sqlml/training/contract.py"],
        "fingerprint": ["sqlml/training/contract.py"],
    }
    for trainer in ("training/pipeline.py", "training/mllib/pipeline.py"):
        assert "check_fidelity(" in (PACKAGE / trainer).read_text(), trainer
    for trainer in ("training/fit.py", "training/mllib/trainer.py"):
        assert "fingerprint(" in (PACKAGE / trainer).read_text(), trainer


def test_architecture_names_files_that_exist() -> None:
    """Every file or folder ARCHITECTURE.md names in backticks is in the repository."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"`([\w./-]+(?:\.py|\.md|/))`", text))
    files = [
        str(p.relative_to(ROOT))
        for p in ROOT.rglob("*")
        if not {".git", ".venv", "__pycache__"} & set(p.parts)
    ]
    folders = [f + "/" for f in files if (ROOT / f).is_dir()]
    missing = sorted(n for n in named if not any(f.endswith(n) for f in files + folders))
    assert len(named) > 40
    assert missing == []
