"""Shared pytest configuration: hypothesis profiles and the opt-in slow marker."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Texts for people are in the locale's language (graphtrace.i18n): the tests expect English unless
# they ask for another language themselves (--lang, use_language, or a monkeypatched environment).
os.environ["LANGUAGE"] = "en"

# Under CI the property tests run derandomized, so a red build is reproducible.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests marked slow (the long fuzz run) run only when asked for: `pytest -m slow`.
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `pytest -m slow`")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite the golden files in tests/golden/ from the current output.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with --update-golden."""
    return bool(request.config.getoption("--update-golden"))
