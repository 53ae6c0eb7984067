"""``python -m trainer`` is ``reelgraph train``."""

import sys

from reelgraph.cli import main

main(["train", *sys.argv[1:]])
