"""ruff clean, notebooks included (the convention in DESIGN.md)."""

import subprocess
import sys

from .conftest import REPO


def test_ruff_check_and_format():
    check = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    form = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert form.returncode == 0, form.stdout
