"""Tests configure the hub the way the demo does: by swapping the settings object, not the environment."""

from __future__ import annotations

from typing import Any

import pytest

from estelam.core import settings
from estelam.core.settings import Settings


def override(mp: pytest.MonkeyPatch, **changes: Any) -> Settings:
    """Use the current settings with ``changes`` until ``mp`` is undone (the end of the test or block)."""
    changed = settings.current().with_changes(**changes)
    mp.setattr(settings, "_current", changed)
    return changed
