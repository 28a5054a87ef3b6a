"""``python -m estelam``: the ``estelam`` command (see ``estelam --help``)."""

from estelam.cli import main

main()
