"""``python -m worker`` is ``reelgraph work``."""

import sys

from reelgraph.cli import main

main(["work", *sys.argv[1:]])
