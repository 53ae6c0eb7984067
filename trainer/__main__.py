"""``python -m trainer`` is ``reelgraph train``.

The apps never import the command line (``reelgraph.cli``, which imports them): this
replaces the process with ``python -m reelgraph train ...`` (same pid, same exit status).
"""

import os
import sys

os.execv(sys.executable, [sys.executable, "-m", "reelgraph", "train", *sys.argv[1:]])
