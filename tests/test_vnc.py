"""VNC consoles without a browser: get-vm-vnc-info and GraphQL `vnc` answer only existing VMs,
their links open `/websockify/` on the mock's port, which speaks RFB 3.8 over a websocket; a
small RFB client (tests/rfb_client.py) reads the VM's name back from the framebuffer."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mock_server.pytest_plugin import start_mock
from helpers import served_mock_fixtures
from rfb_client import RfbClient, RfbRefused, WsError, WsSocket


mock, api = served_mock_fixtures(task_speed=0)


def running_vm(mock, api, skip=0):
    vms = api.post(mock.api_url + "/get-vms", json={"where": {"status": "RUNNING"}, "orderBy": "name_ASC"}).json()
    return vms[skip]


def vnc_info(mock, api, vm_id):
    return api.post(mock.api_url + "/get-vm-vnc-info", json={"vm": {"id": vm_id}})


def test_vnc_info_only_for_existing_vms(mock, api):
    vm = running_vm(mock, api)
    r = vnc_info(mock, api, "cnosuchvm0000000000000000")
    assert r.status_code == 404 and r.json()["path"] == "/get-vm-vnc-info" and "not found" in r.json()["message"]
    info = vnc_info(mock, api, vm["id"]).json()
    assert info["vm"]["id"] == vm["id"]
    for key in ("redirect", "direct"):
        u = urlsplit(info[key])
        assert u.scheme == "ws" and u.netloc == urlsplit(mock.url).netloc and u.path == "/websockify/"
        assert parse_qs(u.query)["uuid"] == [vm["local_id"]]
    assert len(parse_qs(urlsplit(info["direct"]).query)["token"][0]) == 32
    by_local = api.post(mock.api_url + "/get-vm-vnc-info", json={"vm": {"local_id": vm["local_id"]}})
    assert by_local.status_code == 200 and by_local.json()["vm"]["id"] == vm["id"]
    q = "query vnc($input: VncInput!) { vnc(input: $input) { vm_uuid host_ip raw_token token } }"
    g = api.post(mock.url + "/api", json={"query": q, "variables": {"input": {"vm": {"id": "nope"}}}}).json()
    assert g["data"]["vnc"] is None and "not found" in g["errors"][0]["message"]


def test_console_shows_the_vm_and_echoes_keys(mock, api):
    vm = running_vm(mock, api)
    ws = WsSocket(vnc_info(mock, api, vm["id"]).json()["redirect"])
    assert "Sec-WebSocket-Protocol: binary" in ws.headers
    c = RfbClient(ws)
    try:
        assert c.name == vm["name"] and c.security_types == [1]
        c.request(False)
        c.read_update()
        screen = c.text()
        assert screen[0] == f"CloudTower mock console: {vm['name']}"
        assert screen[1].startswith("RUNNING")
        assert any(line.endswith("login:") for line in screen)
        c.key("root\nsecret\nhostname\n")
        c.request(True)
        c.read_update()
        screen = "\n".join(c.text())
        assert "login: root" in screen and "secret" not in screen
        assert f"~]# hostname\n{vm['name']}" in screen
    finally:
        ws.close()


def test_graphql_token_opens_the_console_too(mock, api):
    vm = running_vm(mock, api, 1)
    q = "query vnc($input: VncInput!) { vnc(input: $input) { vm_uuid host_ip raw_token token } }"
    v = api.post(mock.url + "/api", json={"query": q, "variables": {"input": {"vm": {"id": vm["id"]}}}}).json()
    v = v["data"]["vnc"]
    host = urlsplit(mock.url).netloc
    ws = WsSocket(f"ws://{host}/websockify/?uuid={v['vm_uuid']}&token={v['raw_token']}&host={v['host_ip']}",
                  protocols=())
    assert "Sec-WebSocket-Protocol" not in ws.headers
    try:
        assert RfbClient(ws).name == vm["name"]
    finally:
        ws.close()


def test_bad_expired_or_foreign_tokens_are_refused(mock, api):
    vm = running_vm(mock, api)
    url = vnc_info(mock, api, vm["id"]).json()["redirect"]
    host = urlsplit(mock.url).netloc
    for bad in (f"ws://{host}/websockify/?token=bm90LWEtdG9rZW4%3D", f"ws://{host}/websockify/",
                url.replace(vm["local_id"], "00000000-0000-0000-0000-000000000000")):
        with pytest.raises(WsError) as e:
            WsSocket(bad)
        assert e.value.status == 403 and b'"status":403' in e.value.body
    plain = requests.get(mock.url + "/websockify/")
    assert plain.status_code == 400 and "websocket" in plain.json()["message"]
    mock.admin("POST", "/clock/advance", {"seconds": 121})
    with pytest.raises(WsError) as e:
        WsSocket(url)
    assert e.value.status == 403 and b"expired" in e.value.body


def test_a_stopped_vm_is_refused_with_a_reason(mock, api):
    vm = running_vm(mock, api, 2)
    info = vnc_info(mock, api, vm["id"]).json()
    r = api.post(mock.api_url + "/poweroff-vm", json={"where": {"id": vm["id"]}})
    assert r.status_code == 200
    with pytest.raises(RfbRefused) as e:
        RfbClient(WsSocket(info["redirect"]))
    assert "STOPPED" in str(e.value)
    api.post(mock.api_url + "/start-vm", json={"where": {"id": vm["id"]}})


def test_open_consoles_do_not_hold_up_a_stop():
    m = start_mock(task_speed=0)
    s = requests.Session()
    s.headers["Authorization"] = m.token()
    vm = running_vm(m, s)
    clients = [RfbClient(WsSocket(vnc_info(m, s, vm["id"]).json()["redirect"])) for _ in range(3)]
    t0 = time.monotonic()
    stopper = threading.Thread(target=m.stop)
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive() and time.monotonic() - t0 < 2.0
    for c in clients:
        with pytest.raises((EOFError, OSError)):
            c.request(False)
            c.read_update()


def test_plain_tcp_consoles_for_desktop_viewers(mock, api):
    from mock_server.vnc.tcp import VncListener
    from rfb_client import TcpSocket
    vm = running_vm(mock, api, 3)
    vnc = VncListener(mock.state, "127.0.0.1", 0).start()
    try:
        c = RfbClient(TcpSocket("127.0.0.1", vnc.port))
        c.request(False)
        c.read_update()
        assert any(line.startswith("console>") for line in c.text())
        c.key("no-such-vm\n")
        c.request(True)
        c.read_update()
        assert any("no VM named no-such-vm" in line for line in c.text())
        c.key(vm["name"] + "\n")
        c.request(True)
        c.read_update()
        assert c.text()[0] == f"CloudTower mock console: {vm['name']}"
        c.s.close()
        # a console token opens it too (pasted, as a viewer's clipboard sends it)
        raw = parse_qs(urlsplit(vnc_info(mock, api, vm["id"]).json()["direct"]).query)["token"][0]
        c = RfbClient(TcpSocket("127.0.0.1", vnc.port))
        c.s.write(b"\x06\x00\x00\x00" + len(raw).to_bytes(4, "big") + raw.encode())
        c.key("\n")
        c.request(False)
        c.read_update()
        assert c.text()[0] == f"CloudTower mock console: {vm['name']}"
    finally:
        vnc.stop()


def test_console_over_tls_is_wss():
    m = start_mock(task_speed=0, tls=True)
    try:
        s = requests.Session()
        s.trust_env = False                  # REQUESTS_CA_BUNDLE would override verify
        s.verify = m.ca_file
        s.headers["Authorization"] = m.token()
        vm = running_vm(m, s)
        info = vnc_info(m, s, vm["id"]).json()
        assert info["redirect"].startswith("wss://") and info["terminal"].startswith("https://")
        ws = WsSocket(info["redirect"], ca_file=m.ca_file)
        try:
            c = RfbClient(ws)
            c.request(False)
            c.read_update()
            assert c.text()[0] == f"CloudTower mock console: {vm['name']}"
        finally:
            ws.close()
    finally:
        m.stop()


def test_powering_the_vm_off_closes_its_open_console(mock, api):
    vm = running_vm(mock, api, 4)
    ws = WsSocket(vnc_info(mock, api, vm["id"]).json()["redirect"])
    try:
        c = RfbClient(ws)
        c.request(False)
        c.read_update()
        assert api.post(mock.api_url + "/poweroff-vm", json={"where": {"id": vm["id"]}}).status_code == 200
        c.request(True)
        c.read_update()                          # the header and the closing line (within a poll)
        screen = "\n".join(c.text())
        assert screen.splitlines()[1].startswith("STOPPED") and "powered off" in screen
        with pytest.raises((EOFError, OSError)):
            c.request(True)
            c.read_update()
    finally:
        ws.close()
        api.post(mock.api_url + "/start-vm", json={"where": {"id": vm["id"]}})


def test_consoles_follow_the_namespace(mock, api):
    vm = running_vm(mock, api, 5)
    ns = {"X-Mock-Namespace": "vnc-ns"}
    api.post(mock.api_url + "/poweroff-vm", json={"where": {"id": vm["id"]}}, headers=ns)
    # stopped in its namespace only: that namespace's console is refused, the default one opens
    info_ns = api.post(mock.api_url + "/get-vm-vnc-info", json={"vm": {"id": vm["id"]}}, headers=ns).json()
    with pytest.raises(RfbRefused):
        RfbClient(WsSocket(info_ns["redirect"]))
    q = "query vnc($input: VncInput!) { vnc(input: $input) { raw_token } }"
    raw = api.post(mock.url + "/api", json={"query": q, "variables": {"input": {"vm": {"id": vm["id"]}}}},
                   headers=ns).json()["data"]["vnc"]["raw_token"]
    with pytest.raises(RfbRefused):
        RfbClient(WsSocket(f"ws://{urlsplit(mock.url).netloc}/websockify/?token={raw}"))
    ws = WsSocket(vnc_info(mock, api, vm["id"]).json()["redirect"])
    try:
        assert RfbClient(ws).name == vm["name"]
    finally:
        ws.close()
