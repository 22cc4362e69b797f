"""Locate the shared reference data (official schemas, examples, protocol facts).

The folder lives next to the repository (``<repo>/../shared/reference``) or wherever
``$PRCOACH_REFERENCE_DIR`` points. It is optional: tests that need it skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV_VAR = "PRCOACH_REFERENCE_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]


def reference_dir() -> Path | None:
    """The ``shared/reference`` folder, or None when it is not available."""
    configured = os.environ.get(ENV_VAR)
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared" / "reference"
    return candidate if candidate.is_dir() else None


def require_reference(sub: str = "") -> Path:
    """The path ``sub`` inside the reference folder; skips the calling test when it is missing."""
    root = reference_dir()
    if root is None:
        where = os.environ.get(ENV_VAR) or str(REPO_ROOT.parent / "shared" / "reference")
        pytest.skip(f"reference folder not found: {where} (set ${ENV_VAR} to its location)")
    path = root / sub
    if not path.exists():
        pytest.skip(f"reference data not found: {path}")
    return path
