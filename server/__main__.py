"""``python -m server`` is ``reelgraph serve``.

The apps never import the command line (``reelgraph.cli``, which imports them): this
replaces the process with ``python -m reelgraph serve ...`` (same pid, same exit status).
"""

import os
import sys

os.execv(sys.executable, [sys.executable, "-m", "reelgraph", "serve", *sys.argv[1:]])
