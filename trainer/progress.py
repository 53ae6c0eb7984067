"""Progress bars (rich) that stay quiet in tests and pipes when asked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Progress:
    """Nested progress bars; ``enabled=False`` makes every call a no-op."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self._bars: RichProgress | None = None

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[str], None]]:
        """A bar of ``total`` steps; the yielded function advances it one step."""
        if not self.enabled:
            yield lambda _note: None
            return
        own = self._bars is None
        if own:
            self._bars = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[note]}"),
                console=self.console,
                transient=False,
            )
            self._bars.start()
        bars = self._bars
        assert bars is not None
        task_id = bars.add_task(description, total=total, note="")
        try:
            yield lambda note: bars.update(task_id, advance=1, note=note)
        finally:
            if own:
                bars.stop()
                self._bars = None
            else:
                bars.remove_task(task_id)

    def log(self, message: str) -> None:
        """A line of text above the bars (always shown)."""
        self.console.print(message)
