"""pytest plugin of cloudtower-mock (entry point `pytest11: cloudtower_mock`).

Fixtures (see docs/testing-with-the-mock.md):

* ``cloudtower_mock`` (session) - the mock served in-process on a free port, with the
  SDK-derived contract (or ``--cloudtower-mock-spec``) and the default world (or
  ``--cloudtower-mock-world``); ``.url``, ``.api_url``, ``.reset()``, ``.advance(seconds)``,
  ``.fault(**rule)``, ``.stub(operation, ...)``, ``.calls(operation, where=...)``,
  ``.namespace(name)``, ``.journal()``, ``.admin(method, path, json)``.
* ``cloudtower_mock_reset`` - restores every namespace's world before the test.
* ``cloudtower_namespace`` - a fresh namespace (world) of its own for the test.
* ``cloudtower_client`` - a logged-in official-SDK ``cloudtower.ApiClient`` bound to the
  test's namespace (default header ``X-Mock-Namespace``).
* ``cloudtower_clock`` - advance / pause / resume / speed; undone after the test.
* ``cloudtower_faults`` - add fault rules; removed after the test.
* ``cloudtower_stubs`` - add stubbed answers; removed after the test.

Importing this module costs nothing: the server is only built when a fixture asks for it.
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any

import pytest

from .plugin_admin import NAMESPACE_HEADER, AdminCalls, AdminError, StubCalls

__all__ = ["CloudTowerMock", "AdminError", "start_mock", "ClockControl", "FaultControl", "StubControl",
           "NAMESPACE_HEADER"]


def pytest_addoption(parser):
    group = parser.getgroup("cloudtower-mock", "CloudTower mock server")
    opts = (
        ("world", "scenario of the mock's world: default, large, xl, a scenario file or a recording", "default"),
        ("spec", "CloudTower OpenAPI document to serve instead of the installed SDK's contract", None),
        ("task-speed", "how fast mock tasks run (0 = instant)", "0"),
        ("tls", "serve over HTTPS with a certificate made at start (1/true); .ca_file is its CA", "0"),
    )
    for name, help_, default in opts:
        group.addoption(f"--cloudtower-mock-{name}", dest=f"cloudtower_mock_{name.replace('-', '_')}",
                        default=None, help=f"{help_} (ini: cloudtower_mock_{name.replace('-', '_')})")
        parser.addini(f"cloudtower_mock_{name.replace('-', '_')}", help_, default=default)


def _option(config, name: str) -> Any:
    value = config.getoption(f"cloudtower_mock_{name}")
    if value is None:
        value = config.getini(f"cloudtower_mock_{name}")
    return value or None


class CloudTowerMock(AdminCalls, StubCalls):
    """The running mock. Admin calls (AdminCalls, StubCalls) go through the app in-process (no
    HTTP); `namespace(name)` is a view of it bound to a namespace; `client()` an SDK client."""

    def __init__(self, app, server, thread, namespace: str | None = None, parent: "CloudTowerMock | None" = None):
        self.app = app
        self.state = app.config["MOCK_STATE"]
        self._server = server
        self._thread = thread
        self.url = server.url
        self.api_url = self.url + "/v2/api"
        self.ca_file: str | None = None          # the CA to trust when served over TLS
        self._tls = None
        self.ns = namespace
        self._parent = parent
        self._token: str | None = None
        self._lock = threading.Lock()

    def namespace(self, name: str) -> "CloudTowerMock":
        """A view of the same server whose calls (admin and `client()`) use namespace `name`."""
        root = self._parent or self
        view = CloudTowerMock.__new__(CloudTowerMock)
        view.__dict__.update(root.__dict__)
        view.ns, view._parent, view._lock = name, root, threading.Lock()
        return view

    @property
    def world(self):
        return self.state.world(self.ns)

    @property
    def store(self):
        return self.world.store

    # ----------------------------------------------------------------- client
    def token(self) -> str:
        root = self._parent or self
        with root._lock:
            if root._token is None:
                from cloudtower import ApiClient
                from cloudtower.api.user_api import UserApi
                from cloudtower.models import LoginInput
                cfg = self.state.config
                client = ApiClient(self.configuration())
                resp = UserApi(client).login(LoginInput(username=cfg.username, password=cfg.password))
                root._token = resp.data.token
            return root._token

    def configuration(self):
        """An SDK Configuration for this mock (trusting its CA when it is served over TLS)."""
        from cloudtower import Configuration
        conf = Configuration(host=self.api_url)
        if self.ca_file:
            conf.ssl_ca_cert = self.ca_file
        return conf

    def client(self):
        """A logged-in official-SDK ApiClient (bound to this view's namespace)."""
        from cloudtower import ApiClient
        client = ApiClient(self.configuration())
        client.configuration.api_key["Authorization"] = self.token()
        if self.ns:
            client.set_default_header(NAMESPACE_HEADER, self.ns)
        return client

    def stop(self) -> None:
        self._server.stop()
        if self._tls is not None:
            self._tls.cleanup()


def start_mock(world: str = "default", spec: str | None = None, task_speed: float = 0.0,
               seed: int | None = None, tls: bool = False, **config) -> CloudTowerMock:
    """Serve the mock in a background thread on a free port (what the session fixture does);
    over HTTPS with `tls=True` (a certificate made now; the mock's `.ca_file` is its CA)."""
    from .app import create_app
    from .contract.loader import load_contract
    from .state import MockConfig
    cfg = MockConfig(world=world, spec=spec, task_speed=task_speed, seed=seed, port=0, **config)
    app = create_app(cfg, contract=load_contract(spec))      # the world: a scenario or a recording
    app.config["MOCK_STATE"].world()
    from .server import serve_in_thread
    files = None
    if tls:
        from .tls import make_certificate
        files = make_certificate("127.0.0.1")
    server = serve_in_thread(app, threads=8, ssl_adapter=files.adapter() if files else None)
    mock = CloudTowerMock(app, server, server._thread)
    if files is not None:
        mock.ca_file, mock._tls = files.ca, files
    return mock


@pytest.fixture(scope="session")
def cloudtower_mock(pytestconfig):
    speed = _option(pytestconfig, "task_speed")
    try:
        task_speed = float(speed) if speed is not None else 0.0
    except ValueError:
        raise pytest.UsageError(f"--cloudtower-mock-task-speed must be a number, got {speed!r}")
    tls = str(_option(pytestconfig, "tls") or "0").strip().lower() in ("1", "true", "yes", "on")
    mock = start_mock(world=_option(pytestconfig, "world") or "default", spec=_option(pytestconfig, "spec"),
                      task_speed=task_speed, tls=tls)
    yield mock
    mock.stop()


@pytest.fixture
def cloudtower_mock_reset(cloudtower_mock):
    """Every namespace's world back to the loaded one before the test."""
    cloudtower_mock.reset(all=True)
    yield cloudtower_mock


_ns_counter = itertools.count(1)


@pytest.fixture
def cloudtower_namespace(request, cloudtower_mock):
    """A namespace (a fresh copy of the loaded world) of the test's own; forgotten after it."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)[:40].strip("-") or "test"
    name = f"{base}-{next(_ns_counter)}"
    yield name
    cloudtower_mock.admin("DELETE", f"namespaces/{name}", expect=None)


@pytest.fixture
def cloudtower_client(cloudtower_mock, cloudtower_namespace):
    """A logged-in official-SDK ApiClient whose requests go to the test's namespace."""
    client = cloudtower_mock.namespace(cloudtower_namespace).client()
    yield client
    close = getattr(client, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - the pool may already be gone
            pass


class ClockControl:
    def __init__(self, mock: CloudTowerMock):
        self.mock = mock
        info = mock.admin("GET", "clock")
        self._speed, self._paused = info["speed"], info["paused"]

    def now(self) -> float:
        return self.mock.admin("GET", "clock")["now"]

    def advance(self, seconds: float | str) -> float:
        return self.mock.advance(seconds)["now"]

    def pause(self) -> float:
        return self.mock.pause()["now"]

    def resume(self) -> float:
        return self.mock.resume()["now"]

    def speed(self, speed: float) -> None:
        self.mock.speed(speed)

    def _restore(self) -> None:
        info = self.mock.admin("GET", "clock")
        if info["paused"] and not self._paused:
            self.mock.resume()
        elif self._paused and not info["paused"]:
            self.mock.pause()
        if info["speed"] != self._speed:
            self.mock.speed(self._speed)


@pytest.fixture
def cloudtower_clock(cloudtower_mock):
    """Control the mock's clock; its pause state and speed are restored after the test."""
    clock = ClockControl(cloudtower_mock)
    yield clock
    clock._restore()


class FaultControl:
    def __init__(self, mock: CloudTowerMock):
        self.mock = mock
        self.ids: list[str] = []

    def add(self, **rule) -> str:
        rid = self.mock.fault(**rule)
        self.ids.append(rid)
        return rid

    __call__ = add

    def remove(self, rule_id: str) -> None:
        self.mock.remove_fault(rule_id)
        if rule_id in self.ids:
            self.ids.remove(rule_id)

    def list(self) -> list[dict]:
        return [r for r in self.mock.faults() if r["id"] in self.ids]

    def clear(self) -> None:
        for rid in list(self.ids):
            self.remove(rid)


@pytest.fixture
def cloudtower_faults(request, cloudtower_mock):
    """Add fault rules for this test (task_failure rules go to the test's namespace when it
    uses `cloudtower_namespace`/`cloudtower_client`); every rule is removed afterwards."""
    mock = cloudtower_mock
    if "cloudtower_namespace" in request.fixturenames:
        mock = mock.namespace(request.getfixturevalue("cloudtower_namespace"))
    faults = FaultControl(mock)
    yield faults
    faults.clear()


class StubControl:
    """Stubs of one test; every one is removed afterwards."""

    def __init__(self, mock: CloudTowerMock):
        self.mock = mock
        self.ids: list[str] = []

    def add(self, operation: str, **kw) -> str:
        sid = self.mock.stub(operation, **kw)
        self.ids.append(sid)
        return sid

    __call__ = add

    def remove(self, stub_id: str) -> None:
        self.mock.remove_stub(stub_id)
        if stub_id in self.ids:
            self.ids.remove(stub_id)

    def list(self) -> list[dict]:
        return [s for s in self.mock.stubs() if s["id"] in self.ids]

    def clear(self) -> None:
        for sid in list(self.ids):
            self.remove(sid)


@pytest.fixture
def cloudtower_stubs(request, cloudtower_mock):
    """Add stubbed answers for this test (bound to the test's namespace when it uses
    `cloudtower_namespace`/`cloudtower_client`); every stub is removed afterwards."""
    mock = cloudtower_mock
    if "cloudtower_namespace" in request.fixturenames:
        mock = mock.namespace(request.getfixturevalue("cloudtower_namespace"))
    stubs = StubControl(mock)
    yield stubs
    stubs.clear()
