"""Locate the reference data (official schemas, examples, recorded traffic) the conformance
tests check the fakes against.

A trimmed copy lives in ``tests/reference`` (see its README: where each file comes from and
how to refresh it), so every clone runs these tests. ``$PRCOACH_REFERENCE_DIR`` points them at
another copy instead, such as the full folder the trimmed one is made from.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "PRCOACH_REFERENCE_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED = REPO_ROOT / "tests" / "reference"


def reference_dir() -> Path:
    """The reference folder: ``$PRCOACH_REFERENCE_DIR``, or the copy in the repository."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else BUNDLED


def require_reference(sub: str = "") -> Path:
    """The path ``sub`` inside the reference folder. Missing data is a failure, not a skip:
    the files are part of the repository (``tests/reference/refresh.py`` lists them)."""
    path = reference_dir() / sub
    assert path.exists(), (
        f"reference data not found: {path} (add it to tests/reference/refresh.py's FILES "
        f"and run it, see tests/reference/README.md)"
    )
    return path
