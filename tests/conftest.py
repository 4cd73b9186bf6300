"""Shared fixtures: paths to the shared contracts and scenarios beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def contracts_dir() -> Path:
    path = SHARED / "contracts"
    if not path.exists():
        pytest.skip("../shared/contracts is not beside the project")
    return path


@pytest.fixture(scope="session")
def shared_scenarios() -> Path:
    path = SHARED / "scenarios"
    if not path.exists():
        pytest.skip("../shared/scenarios is not beside the project")
    return path
