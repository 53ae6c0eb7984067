"""The server's settings: its view of the one declaration in ``reelgraph.settings``.

``ServerSettings.from_env(**flags)`` reads ``REELGRAPH_*`` (flags that are not
None win) and raises ``reelgraph.settings.SettingsError`` naming a bad variable.
"""

from __future__ import annotations

from reelgraph.settings import ServerSettings

__all__ = ["ServerSettings"]
