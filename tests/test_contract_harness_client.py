"""`cloudtower-contract client`: a client command against the in-process mock, with the
documented environment, --port / --world / --spec, and a report of what the client did."""

from __future__ import annotations

import socket
import sys
import textwrap

from contract_tests.cli import main as contract_main

CLIENT = textwrap.dedent('''
    import os, requests
    api = os.environ["CLOUDTOWER_ENDPOINT"]
    assert api == os.environ["CLOUDTOWER_URL"] + "/v2/api"
    assert os.environ["CLOUDTOWER_MOCK_ADMIN"] == os.environ["CLOUDTOWER_URL"] + "/_mock"
    tok = requests.post(api + "/login", json={"username": os.environ["CLOUDTOWER_USERNAME"],
                        "password": os.environ["CLOUDTOWER_PASSWORD"],
                        "source": os.environ["CLOUDTOWER_SOURCE"]}).json()["data"]["token"]
    h = {"Authorization": tok}
    vms = requests.post(api + "/get-vms", json={"first": 3}, headers=h).json()
    print("port", api.split(":")[2].split("/")[0], "vms", len(vms))
    r = requests.post(api + "/get-vms", json={"where": {"colour": "blue"}}, headers=h)
    print("unknown key", r.status_code)
    r = requests.post(api + "/create-vm-snapshot", json={"data": [{"vm_id": vms[0]["id"], "name": "forgotten"}]},
                      headers=h)
    print("snapshot", r.status_code)
    r = requests.post(api + "/get-vm-folders", json={"first": 1}, headers=h)
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_client_mode_reports_invalid_requests_coverage_compat_and_tasks(tmp_path, capfd, monkeypatch):
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    port = free_port()
    monkeypatch.delenv("CLOUDTOWER_SHARED", raising=False)
    from conftest import spec_path
    old = spec_path("2.8.0")
    compat = ["--compat", str(old)] if old.exists() else []
    rc = contract_main(["client", "--port", str(port), "--world", "default", "--task-speed", "0", *compat,
                        "--report-dir", str(tmp_path), "--", sys.executable, str(script)])
    out = capfd.readouterr().out
    report = (tmp_path / "report.md").read_text()
    assert rc == 1, out                                   # the client sent an invalid request
    assert f"port {port} vms 3" in out
    assert "client sent an invalid request" in report
    row = next(ln for ln in report.splitlines() if ln.startswith("| `/get-vms` | 400 |"))
    assert "`colour`" in row or "colour" in row, row      # the field and the reason
    assert "unknown field" in row
    assert "| `/get-vms` | 2 |" in report and "| `/login` | 1 |" in report
    assert "Operations called (4 of" in report
    assert "1 task(s) started, 0 awaited, 1 never polled" in report
    assert "Operations older CloudTower versions lack" in report
    if compat:
        assert "get-vm-folders" in report.split("Operations older CloudTower versions lack")[1].split("###")[0] \
            or "| 2.8" in report
    junit = (tmp_path / "junit.xml").read_text()
    assert "client sent an invalid request" in junit
    assert (tmp_path / "report.html").read_text().count("client sent an invalid request") >= 1


def test_client_mode_exit_zero_for_a_valid_client_and_chaos_report(tmp_path, capsys):
    script = tmp_path / "ok.py"
    script.write_text(textwrap.dedent('''
        import os, time, requests
        api = os.environ["CLOUDTOWER_ENDPOINT"]
        def post(op, body, h=None):
            for _ in range(20):          # a client that retries 503 answers
                r = requests.post(api + op, json=body, headers=h or {})
                if r.status_code != 503:
                    return r
                time.sleep(0.01)
            raise SystemExit("gave up")
        tok = post("/login", {"username": "root", "password": "root"}).json()["data"]["token"]
        h = {"Authorization": tok}
        for _ in range(15):
            assert post("/get-clusters", {"first": 2}, h).status_code == 200
    '''))
    rc = contract_main(["client", "--chaos", "--chaos-rate", "0.5", "--seed", "2", "--report-dir", str(tmp_path),
                        "--", sys.executable, str(script)])
    report = (tmp_path / "report.md").read_text()
    assert rc == 0, report
    assert "Chaos: disturbances survived" in report
    row = next(ln for ln in report.splitlines() if ln.startswith("| 503 answer |"))
    injected, survived = row.split("|")[2].strip(), row.split("|")[3].strip()
    assert int(injected) > 0 and injected == survived
    assert "| the whole run | – | yes |" in report


def test_client_mode_flags_fail_with_one_line(capsys):
    for argv in (["client", "--port", "70000", "--", "true"], ["client", "--port", "x", "--", "true"]):
        try:
            rc = contract_main(argv)
        except SystemExit as e:
            rc = e.code
        assert rc == 2
    assert contract_main(["client"]) == 2
    err = capsys.readouterr().err
    assert "port must be within" in err and "give the command after --" in err
