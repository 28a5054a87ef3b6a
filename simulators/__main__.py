"""Serve every agency of the registry as a simulator until interrupted; an alias of ``estelam simulators``.

    python -m simulators [--host 127.0.0.1] [--fixed-ports] [--seed N] [--persons N]
"""

import sys

from estelam.cli import main

main(["simulators", *sys.argv[1:]])
