"""Logins as on a real tower: created users log in with their password, the source is checked,
wrong password / unknown user / locked user give the tower's error codes; get-my-info
identifies the caller on every spec version (2.8.0 and 3.4.4 declare it with security: [])."""

from __future__ import annotations

import pytest

from conftest import spec_path
from mock_server.app import create_app
from mock_server.state import MockConfig


@pytest.fixture
def client(app):
    c = app.test_client()
    c.post("/_mock/reset", json={"all": True})
    return c


def login(client, username, password, source=None, ns=None):
    body = {"username": username, "password": password}
    if source:
        body["source"] = source
    return client.post("/v2/api/login", json=body, headers={"X-Mock-Namespace": ns} if ns else {})


def root(client, ns=None):
    r = login(client, "root", "root", ns=ns)
    assert r.status_code == 200, r.json
    h = {"Authorization": r.json["data"]["token"]}
    return dict(h, **{"X-Mock-Namespace": ns}) if ns else h


def create_users(client, auth, *users):
    role = client.post("/v2/api/get-user-role-nexts", json={"first": 1}, headers=auth).json[0]["id"]
    r = client.post("/v2/api/create-user", json=[{"role_id": role, "name": u["username"], **u} for u in users],
                    headers=auth)
    assert r.status_code == 200, r.json


def code_of(r):
    assert r.status_code == 400, r.json
    assert r.json["message"].startswith(f"[{r.json['props']['code']}]")
    return r.json["props"]["code"]


def test_created_users_log_in_with_their_password_and_source(client):
    auth = root(client)
    create_users(client, auth, {"username": "alice", "password": "a-pw"},
                 {"username": "dora", "password": "d-pw", "source": "LDAP"})
    r = login(client, "alice", "a-pw")
    assert r.status_code == 200
    me = client.post("/v2/api/get-my-info", json={}, headers={"Authorization": r.json["data"]["token"]}).json
    assert me["username"] == "alice" and me["source"] == "LOCAL" and "_credential" not in me
    assert login(client, "alice", "a-pw", "LOCAL").status_code == 200
    assert code_of(login(client, "alice", "a-pw", "LDAP")) == "NOT_MATCH_USER_OR_PASSWORD_INCORRECT"
    assert login(client, "dora", "d-pw", "LDAP").status_code == 200
    assert login(client, "dora", "d-pw", "AUTHN").status_code == 200
    assert code_of(login(client, "dora", "d-pw")) == "NOT_MATCH_USER_OR_PASSWORD_INCORRECT"
    assert code_of(login(client, "root", "root", "LDAP")) == "NOT_MATCH_USER_OR_PASSWORD_INCORRECT"
    assert code_of(login(client, "nobody", "x")) == "NOT_MATCH_USER_OR_PASSWORD_INCORRECT"


def test_a_password_change_takes_effect(client):
    auth = root(client)
    create_users(client, auth, {"username": "bob", "password": "old"})
    r = client.post("/v2/api/update-user", json={"where": {"username": "bob"}, "data": {"password": "new"}},
                    headers=auth)
    assert r.status_code == 200, r.json
    assert code_of(login(client, "bob", "old")) == "USER_PASSWORD_INCORRECT"
    assert login(client, "bob", "new").status_code == 200


def test_users_live_in_their_namespace_and_go_with_a_reset(client):
    auth = root(client, ns="logins-ns")
    create_users(client, auth, {"username": "carol", "password": "c-pw"})
    assert login(client, "carol", "c-pw", ns="logins-ns").status_code == 200
    assert code_of(login(client, "carol", "c-pw")) == "NOT_MATCH_USER_OR_PASSWORD_INCORRECT"
    client.post("/_mock/reset", json={"namespace": "logins-ns"})
    assert code_of(login(client, "carol", "c-pw", ns="logins-ns")) == "NOT_MATCH_USER_OR_PASSWORD_INCORRECT"


def test_wrong_passwords_lock_the_user_for_a_while(client):
    auth = root(client)
    client.post("/v2/api/update-password-security", headers=auth,
                json={"login_miss_num_threshold": 3, "login_miss_time_threshold": 10})
    create_users(client, auth, {"username": "eve", "password": "e-pw"})
    client.post("/_mock/clock/pause")
    try:
        first, second = login(client, "eve", "bad"), login(client, "eve", "bad")
        assert code_of(first) == code_of(second) == "USER_PASSWORD_INCORRECT"
        assert [first.json["props"]["remain_miss_num"], second.json["props"]["remain_miss_num"]] == [2, 1]
        third = login(client, "eve", "bad")
        assert code_of(third) == "USER_LOCKED" and third.json["props"]["remain_time"] == 10
        locked = login(client, "eve", "e-pw")                      # the right password does not unlock
        assert code_of(locked) == "USER_LOCKED"
        assert login(client, "alice-not-locked", "x").json["props"]["code"] == "NOT_MATCH_USER_OR_PASSWORD_INCORRECT"
        assert login(client, "root", "root").status_code == 200    # other users are not locked
        client.post("/_mock/clock/advance", json={"seconds": "9m"})
        assert code_of(login(client, "eve", "e-pw")) == "USER_LOCKED"
        client.post("/_mock/clock/advance", json={"seconds": "2m"})
        assert login(client, "eve", "e-pw").status_code == 200
    finally:
        client.post("/_mock/clock/resume")


def test_misses_outside_the_window_do_not_add_up(client):
    auth = root(client)
    client.post("/v2/api/update-password-security", headers=auth,
                json={"login_miss_num_threshold": 2, "login_miss_time_threshold": 5})
    create_users(client, auth, {"username": "finn", "password": "f-pw"})
    client.post("/_mock/clock/pause")
    try:
        assert code_of(login(client, "finn", "bad")) == "USER_PASSWORD_INCORRECT"
        client.post("/_mock/clock/advance", json={"seconds": "6m"})
        assert code_of(login(client, "finn", "bad")) == "USER_PASSWORD_INCORRECT"
        assert login(client, "finn", "f-pw").status_code == 200
    finally:
        client.post("/_mock/clock/resume")


@pytest.mark.parametrize("version", ["2.8.0", "3.4.4", "4.3.0", "4.6.0"])
def test_get_my_info_on_every_spec_version(version):
    path = spec_path(version)
    if not path.exists():
        pytest.skip(f"spec not available: {path}")
    from mock_server.contract.loader import load_contract
    contract = load_contract(path)
    c = create_app(MockConfig(task_speed=0), contract=contract).test_client()
    r = c.post("/v2/api/login", json={"username": "root", "password": "root", "source": "LOCAL"})
    assert r.status_code == 200, r.json
    token = r.json["data"]["token"]
    me = c.post("/v2/api/get-my-info", json={}, headers={"Authorization": token})
    assert me.status_code == 200 and me.json["username"] == "root", me.json
    assert c.post("/v2/api/get-my-info", json={}).status_code == 401
    assert c.post("/v2/api/get-my-info", json={}, headers={"Authorization": "not-a-token"}).status_code == 401
    bad = c.post("/v2/api/login", json={"username": "root", "password": "wrong", "source": "LOCAL"})
    assert bad.status_code == 400 and bad.json["props"]["code"] == "USER_PASSWORD_INCORRECT"
