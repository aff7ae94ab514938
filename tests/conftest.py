"""Shared test settings: ``HYPOTHESIS_PROFILE=fuzz`` runs the property tests with many more examples.

Every test runs with ``XDG_CACHE_HOME`` in a temporary folder, so ``kpl check`` (in process or in a child
process, which inherits the environment) never reads or writes the parse cache of the user running them.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None)
settings.register_profile(
    "fuzz", max_examples=5_000, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _private_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache-home")))
