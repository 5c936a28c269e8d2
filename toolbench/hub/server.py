"""Running the hub: in the foreground (``serve``) or in a background thread on a free port (``HubThread``)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Self

from toolbench.hub.settings import DEFAULT_HOST, DEFAULT_PORT, HubSettings

if TYPE_CHECKING:
    from toolbench.hub.base import HubTool
    from toolbench.llm.base import ChatModel


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, settings: HubSettings | None = None,
          log_level: str = "info") -> None:
    """Serve the hub with uvicorn until interrupted. ``host``/``port`` override the settings' own."""
    import uvicorn

    from toolbench.hub.app import create_app

    settings = replace(settings or HubSettings(), host=host, port=port)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level,
                access_log=log_level == "debug", timeout_keep_alive=settings.keep_alive_seconds)


class HubThread:
    """The hub on loopback in a daemon thread, on a free port unless one is given.

    >>> with HubThread(HubSettings(seed=1)) as hub:   # doctest: +SKIP
    ...     httpx.get(hub.url + "/health")
    """

    def __init__(self, settings: HubSettings | None = None, *, port: int = 0, start_timeout: float = 20.0,
                 tools: list[HubTool] | None = None, chat_model: ChatModel | None = None):
        import uvicorn

        from toolbench.hub.app import create_app

        self.settings = replace(settings or HubSettings(), port=port)
        self.app = create_app(self.settings, tools, chat_model=chat_model)
        config = uvicorn.Config(self.app, host=self.settings.host, port=port, log_level="warning",
                                access_log=False, lifespan="off", timeout_keep_alive=self.settings.keep_alive_seconds)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="toolbench-hub", daemon=True)
        self._start_timeout = start_timeout
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    @property
    def hub(self):
        return self.app.state.hub

    def start(self) -> HubThread:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the hub did not start; is the port free?")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
