"""Load and fault tests run only when asked for: ``python -m pytest -m load tests/load``."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    if "load" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="load/fault test: run with `python -m pytest -m load tests/load`")
    for item in items:
        if "load" in item.keywords:
            item.add_marker(skip)
