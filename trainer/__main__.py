"""``python -m trainer`` is ``reelgraph train``."""

from reelgraph.cli import main

main(["train", *__import__("sys").argv[1:]])
