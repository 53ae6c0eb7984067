"""``python -m reelgraph`` is the ``reelgraph`` command."""

from reelgraph.cli import main

main()
