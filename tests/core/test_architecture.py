"""The layers contract (pyproject.toml, ``make lint``) holds, and it would catch an upward import."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def run_lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_code_keeps_the_layers():
    result = run_lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_contract(tmp_path):
    for package in ("backend", "media", "feeds", "notifications", "data_rights", "search"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    # Creators (near the bottom) reaching up into the render pipeline, the way /me once did.
    (tmp_path / "backend/creators/upward.py").write_text("from media.selectors import renders_used_today\n")
    result = run_lint_imports(tmp_path)
    assert result.returncode != 0
    assert "backend.creators is not allowed to import media" in result.stdout
    assert "backend.creators.upward -> media.selectors" in result.stdout
