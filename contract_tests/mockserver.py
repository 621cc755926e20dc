"""The mock served in-process (create_app + cheroot on a free port, in a thread), optionally
wrapped in WSGI middlewares (the client mode's recorder and chaos injector)."""

from __future__ import annotations

from typing import Callable


class InProcessMock:
    def __init__(self, *, contract=None, task_speed: float = 10.0, strict: bool = True,
                 username: str = "root", password: str = "root", seed: int | None = None,
                 wrap: Callable | None = None, world: str = "default", port: int = 0):
        from mock_server.app import create_app
        from mock_server.contract.loader import load_contract
        from mock_server.state import MockConfig
        contract = contract or load_contract()
        config = MockConfig(task_speed=task_speed, strict=strict, username=username, password=password,
                            seed=seed, world=world)
        self.app = create_app(config, contract=contract)
        self.state = self.app.config["MOCK_STATE"]
        self.state.world()
        self.contract = contract
        self.username, self.password = username, password
        wsgi_app = wrap(self.app) if wrap else self.app
        self.wsgi_app = wsgi_app
        from mock_server.server import serve_in_thread
        self.server = serve_in_thread(wsgi_app, port=port, threads=8)
        self.port = self.server.port
        self.url = self.server.url
        self.api = self.server.api_url
        self.thread = self.server._thread

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
