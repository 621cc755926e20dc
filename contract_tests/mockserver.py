"""The mock served in-process (create_app + cheroot on a free port, in a thread), optionally
wrapped in WSGI middlewares (the client mode's recorder and chaos injector)."""

from __future__ import annotations

import threading
from typing import Callable


class InProcessMock:
    def __init__(self, *, contract=None, task_speed: float = 10.0, strict: bool = True,
                 username: str = "root", password: str = "root", seed: int | None = None,
                 wrap: Callable | None = None, world: str = "default"):
        from cheroot import wsgi
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
        self.server = wsgi.Server(("127.0.0.1", 0), wsgi_app, numthreads=8, server_name="cloudtower-mock")
        self.server.prepare()
        self.port = self.server.bind_addr[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.url + "/v2/api"
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
