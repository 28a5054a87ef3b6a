"""The serving API: judges, agencies, the central bank, statisticians, the public and data subjects.

``create_app()`` builds the FastAPI application; ``python -m estelam.api`` serves it with uvicorn.
"""

from estelam.api.app import create_app
from estelam.api.services import ApiSettings

__all__ = ["ApiSettings", "create_app"]
