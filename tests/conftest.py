"""Shared fixtures: the contracts, and the mock served in-process on a free port.

Every response the suite receives from the served mock is validated against the
contract (an after-request hook records violations; the session fails on any)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import orjson
import pytest

from mock_server.contract.validate import ValidationError

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    env = os.environ.get("CLOUDTOWER_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def spec_path(version: str) -> Path:
    return shared_dir() / "specs" / f"cloudtower-{version}.json"


def pytest_report_header(config):
    specs = shared_dir() / "specs"
    if not specs.is_dir():
        return (f"cloudtower-mock: {specs} not found: the tests that need the real CloudTower specs are "
                f"skipped (set CLOUDTOWER_SHARED to the folder holding specs/ and docs/ to run them)")
    return f"cloudtower-mock: real specs from {specs}"


@pytest.fixture(scope="session")
def sdk_contract():
    from mock_server.contract.loader import load_contract
    return load_contract()


@pytest.fixture(scope="session")
def spec_contract():
    p = spec_path("4.6.0")
    if not p.exists():
        pytest.skip(f"spec not available: {p}")
    from mock_server.contract.loader import load_contract
    return load_contract(p)


@pytest.fixture(scope="module")
def contract():
    """The 4.6.0 spec as a Contract (the SPEC of tests/helpers.py)."""
    from helpers import load_spec_contract
    return load_spec_contract()


class ResponseChecker:
    """Validates every JSON response of the app against the operation's response schema."""

    def __init__(self, state):
        self.state = state
        self.violations: list[str] = []
        self.checked = 0
        self._lock = threading.Lock()

    def __call__(self, req, answer):
        """An after-hook of the API dispatcher: sees every /v2/api answer, errors included."""
        path = "/v2/api" + req.path
        if path.endswith("openapi.json"):
            return
        op = self.state.contract.operations.get(req.path)
        if op is None or answer.content_type != "application/json":
            return
        body = orjson.loads(answer.data)
        status = str(answer.status)
        if status == "200":
            schema = op.response_schema
        elif status in op.response_codes or status in ("401", "404") \
                or (status == "405" and req.method.lower() != op.method):      # a method it does not answer
            schema = {"$ref": "#/components/schemas/" + self.state.contract.find_schema("ErrorBody")}
        else:
            schema = None
            self._record(f"{path}: undeclared status {status}: {body}")
        if schema is not None:
            try:
                self.state.validator.validate(schema, body)
            except ValidationError as e:
                self._record(f"{path} {status}: {e}")
        with self._lock:
            self.checked += 1

    def _record(self, msg):
        with self._lock:
            self.violations.append(msg)


class LiveServer:
    def __init__(self, app):
        from mock_server.server import serve_in_thread
        self.app = app
        self.state = app.config["MOCK_STATE"]
        self.server = serve_in_thread(app, threads=8)
        self.port = self.server.port
        self.url = self.server.url

    def stop(self):
        self.server.stop()


@pytest.fixture(scope="session")
def live(sdk_contract):
    """The mock with the SDK-derived contract and the default world, on a free port."""
    from mock_server.app import create_app
    from mock_server.state import MockConfig
    app = create_app(MockConfig(task_speed=20.0), contract=sdk_contract)
    checker = ResponseChecker(app.config["MOCK_STATE"])
    from mock_server.dispatch import EXT_KEY
    app.extensions[EXT_KEY].after.append(checker)
    server = LiveServer(app)
    server.checker = checker
    yield server
    server.stop()
    assert checker.checked > 0, "the response checker saw no API answer"
    assert not checker.violations, "responses that break the contract:\n" + "\n".join(checker.violations[:50])


@pytest.fixture(scope="session")
def token(live):
    import requests
    r = requests.post(live.url + "/v2/api/login", json={"username": "root", "password": "root"})
    assert r.status_code == 200, r.text
    return r.json()["data"]["token"]


@pytest.fixture(scope="session")
def api_client(live):
    """A logged-in official-SDK ApiClient."""
    from cloudtower import ApiClient, Configuration
    from cloudtower.api.user_api import UserApi
    from cloudtower.models import LoginInput, UserSource
    client = ApiClient(Configuration(host=live.url + "/v2/api"))
    resp = UserApi(client).login(LoginInput(username="root", password="root", source=UserSource.LOCAL))
    client.configuration.api_key["Authorization"] = resp.data.token
    return client


# An in-process app (SDK contract, instant tasks) and a root login for it: tests that drive the
# app with Flask's test client (admin API, stubs, logins) share these; a module that needs
# another app defines its own `app`.
@pytest.fixture(scope="module")
def app(sdk_contract):
    from mock_server.app import create_app
    from mock_server.state import MockConfig
    return create_app(MockConfig(task_speed=0), contract=sdk_contract)


@pytest.fixture(scope="module")
def auth(app):
    r = app.test_client().post("/v2/api/login", json={"username": "root", "password": "root"})
    return {"Authorization": r.json["data"]["token"]}
