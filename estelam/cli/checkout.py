"""What lives only in a checkout beside the ``estelam`` package: ``simulators/``, ``benchmarks/``, ``dashboards/``.

A production install (the wheel) holds ``estelam`` and ``connectors`` only. A console script starts with
its own ``bin/`` directory on ``sys.path``, not the checkout, so the checkout the ``estelam`` package was
loaded from is added when the package asked for is there.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

import typer

from estelam.core.settings import PROJECT_ROOT

#: Exit code of a development command run on a production install.
EXIT_NOT_A_CHECKOUT = 2


def _is_missing(error: ModuleNotFoundError, package: str) -> bool:
    """True when ``error`` is about ``package`` itself (not a module that package imports)."""
    return error.name is not None and (error.name == package or error.name.startswith(f"{package}."))


def environment_with_checkout() -> dict[str, str]:
    """A copy of this process's environment whose PYTHONPATH starts with the checkout, for child processes."""
    environment = dict(os.environ)
    paths = [str(PROJECT_ROOT), *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return environment


def import_development_module(module: str, *, needed_by: str) -> ModuleType:
    """Import ``module`` of a development-only package, or exit 2 saying that it needs the development checkout.

    ``needed_by`` names the command in the message, e.g. ``"the demo"``.
    """
    package = module.partition(".")[0]
    # importlib, not an import statement: the import-linter contract forbids estelam -> simulators/benchmarks
    # (they are not in the production wheel), and the commands that need them are development tools.
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if not _is_missing(error, package):
            raise
    if (PROJECT_ROOT / package / "__init__.py").is_file() and str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
        # The benchmarks start child processes (python -m benchmarks...): they need the checkout too.
        os.environ["PYTHONPATH"] = environment_with_checkout()["PYTHONPATH"]
        importlib.invalidate_caches()
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as error:
            if not _is_missing(error, package):
                raise
    typer.echo(f"{needed_by} needs the development checkout: {package}/ is not part of a production install",
               err=True)
    raise typer.Exit(EXIT_NOT_A_CHECKOUT)
