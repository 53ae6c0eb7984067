"""``python -m worker`` is ``reelgraph work``.

The apps never import the command line (``reelgraph.cli``, which imports them): this
replaces the process with ``python -m reelgraph work ...`` (same pid, same exit status).
"""

import os
import sys

os.execv(sys.executable, [sys.executable, "-m", "reelgraph", "work", *sys.argv[1:]])
