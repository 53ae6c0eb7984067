"""The worker's settings: its view of the one declaration in ``reelgraph.settings``.

``WorkerSettings.from_env(**flags)`` reads ``REELGRAPH_*`` (flags that are not
None win) and raises ``reelgraph.settings.SettingsError`` naming a bad variable;
``queue`` is the job queue's behaviour.
"""

from __future__ import annotations

from reelgraph.settings import WorkerSettings

__all__ = ["WorkerSettings"]
