"""Serve the API: ``python -m estelam.api --host 127.0.0.1 --port 8000``, an alias of ``estelam api``."""

import sys

from estelam.cli import main

main(["api", *sys.argv[1:]])
