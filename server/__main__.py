"""``python -m server`` is ``reelgraph serve``."""

import sys

from reelgraph.cli import main

main(["serve", *sys.argv[1:]])
