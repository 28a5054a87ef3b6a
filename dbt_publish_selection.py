"""Which dbt models are published: those flagged ``config: meta: {publish: true}`` in their yml.

Reads dbt's ``target/manifest.json`` (already parsed into a dict), so the selection follows the
models' own declarations rather than a naming convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PUBLISH_META_KEY = "publish"


def published_models(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """Sorted names of the models whose config meta has ``publish: true``.

    Only ``true`` itself counts (not a truthy string such as ``"false"``); disabled models are not
    in ``nodes`` and so are never published.
    """
    names = {
        node["name"]
        for node in (manifest.get("nodes") or {}).values()
        if node.get("resource_type") == "model"
        and ((node.get("config") or {}).get("meta") or {}).get(PUBLISH_META_KEY) is True
    }
    return tuple(sorted(names))
