"""The command line: one ``estelam`` console script for everything a person runs.

This room owns argument parsing, help texts (each command with an example), terminal output (progress,
``error: ...`` lines) and exit codes; the work itself stays in the other rooms. It sits on top of the
package: it may import every room of ``estelam``, and no room imports it (only the ``__main__`` aliases,
``python -m estelam`` and ``python -m estelam.api``, call it). The development-only top-level packages,
``simulators`` and ``benchmarks``, are never imported at module level: the commands that need them load
them through :func:`estelam.cli.checkout.import_development_module`.

Exit codes: 0 done; 1 an Estelam error (``error: <message>`` on stderr) or a failed check; 2 a usage
error, or a development command run without the development checkout.

May import: every room (core, contracts, ingest, access, orchestration, outputs, cases, warehouse, freeze, inquiry,
reporting, api); ``simulators`` and ``benchmarks`` only through importlib, inside a command.
"""

from estelam.cli.commands import app, main
from estelam.cli.progress import progress

__all__ = ["app", "main", "progress"]
