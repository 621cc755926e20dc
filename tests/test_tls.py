"""serve --tls: HTTPS with a certificate made at start (trust its CA file) or given ones;
the official SDK with verify_ssl=False and with the CA file; clients refuse it untrusted."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

from mock_server.app import create_app
from mock_server.server import Server
from mock_server.state import MockConfig
from mock_server.tls import given_certificate, make_certificate


@pytest.fixture(scope="module")
def tls_files():
    files = make_certificate("127.0.0.1")
    yield files
    files.cleanup()


@pytest.fixture(scope="module")
def https(sdk_contract, tls_files):
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    server = Server(app, "127.0.0.1", 0, threads=4, ssl_adapter=tls_files.adapter()).bind()
    server.start()
    yield server
    server.stop()


def sdk_client(url: str, **cfg):
    from cloudtower import ApiClient, Configuration
    from cloudtower.api.user_api import UserApi
    from cloudtower.models import LoginInput
    conf = Configuration(host=url + "/v2/api")
    for k, v in cfg.items():
        setattr(conf, k, v)
    client = ApiClient(conf)
    token = UserApi(client).login(LoginInput(username="root", password="root")).data.token
    client.configuration.api_key["Authorization"] = token
    return client


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_sdk_with_verification_off(https):
    from cloudtower.api.vm_api import VmApi
    from cloudtower.models import GetVmsRequestBody
    assert https.url.startswith("https://127.0.0.1:")
    client = sdk_client(https.url, verify_ssl=False)
    assert len(VmApi(client).get_vms(GetVmsRequestBody(first=2))) == 2


def test_sdk_trusting_the_ca_file(https, tls_files):
    from cloudtower.api.cluster_api import ClusterApi
    from cloudtower.models import GetClustersRequestBody
    client = sdk_client(https.url, ssl_ca_cert=tls_files.ca)
    assert ClusterApi(client).get_clusters(GetClustersRequestBody(first=1))
    for host in ("localhost", "127.0.0.1"):
        r = requests.post(https.url.replace("127.0.0.1", host) + "/v2/api/login",
                          json={"username": "root", "password": "root"}, verify=tls_files.ca)
        assert r.status_code == 200


def test_clients_refuse_the_untrusted_certificate(https):
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(https.url + "/v2/api/login", json={"username": "root", "password": "root"})
    import urllib3
    with pytest.raises(urllib3.exceptions.MaxRetryError) as e:
        sdk_client(https.url)                         # the SDK verifies by default
    assert "CERTIFICATE_VERIFY_FAILED" in str(e.value)


def test_given_certificate_and_key(sdk_contract, tls_files):
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    server = Server(app, "127.0.0.1", 0, threads=2,
                    ssl_adapter=given_certificate(tls_files.cert, tls_files.key).adapter()).bind()
    server.start()
    try:
        assert requests.get(server.url + "/api/healthz", verify=tls_files.ca).json() == {"status": "ok"}
    finally:
        server.stop()


def _serve(*args):
    return subprocess.Popen([sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", "--quiet",
                             "--task-speed", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_serve_tls_prints_where_the_ca_is():
    proc = _serve("--tls")
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("cloudtower-mock listening on https://127.0.0.1:"), lines
        url = lines[0].split("listening on ", 1)[1].strip().rsplit("/v2/api", 1)[0]
        (tls_line,) = [line for line in lines if line.strip().startswith("TLS:")]
        ca = tls_line.split("trust its CA file ", 1)[1].split()[0]
        assert requests.get(url + "/api/healthz", verify=ca).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("args, words", [
    (["--cert", "x.pem"], "--cert and --key"),
    (["--cert", "/no/such.pem", "--key", "/no/such.key"], "no such file"),
])
def test_bad_tls_flags_are_one_line_and_exit_2(args, words):
    proc = _serve(*args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and words in err and "Traceback" not in err and err.count("\n") == 1


def test_plugin_mock_over_tls():
    import os

    from cloudtower.api.vm_api import VmApi
    from cloudtower.models import GetVmsRequestBody

    from mock_server.pytest_plugin import start_mock
    mock = start_mock(tls=True)
    try:
        assert mock.url.startswith("https://127.0.0.1:") and os.path.isfile(mock.ca_file)
        assert len(VmApi(mock.namespace("tls-view").client()).get_vms(GetVmsRequestBody(first=1))) == 1
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(mock.url + "/api/healthz")
    finally:
        mock.stop()
    assert not os.path.exists(mock.ca_file)
