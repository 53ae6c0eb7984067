"""What every config and hyper-parameter dataclass shares: its JSON-ready form."""

from __future__ import annotations

from dataclasses import Field, asdict
from typing import Any, ClassVar


class DictForm:
    """Mixin for a dataclass stored in a bundle manifest: ``to_dict`` is its fields, by name.

    The keys are the field names, so manifests written by earlier versions still load.
    """

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # set by @dataclass on the subclass

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)
