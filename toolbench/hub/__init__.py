"""The sandbox API hub: a FastAPI app of tools that behave like real APIs (``toolbench hub serve``).

``create_app(settings)`` builds the app; ``serve(...)`` runs it with uvicorn; ``HubThread`` runs it in a
background thread on a free port (tests, benchmarks).
"""

from toolbench.hub.app import create_app
from toolbench.hub.server import HubThread, serve
from toolbench.hub.settings import HubSettings

__all__ = ["HubSettings", "HubThread", "create_app", "serve"]
