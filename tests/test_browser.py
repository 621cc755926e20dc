"""The dashboard and the VM console in a real browser (headless Chromium via selenium):
search a VM, follow it to a LUN snapshot, watch a task's progress move, add and remove a fault
rule, reset, open a console and read the VM's name from the RFB framebuffer."""

from __future__ import annotations

import time

import pytest
import requests

from browser import browser_missing, canvas_text, start_chromium

_why = browser_missing()
if _why:
    pytest.skip(_why, allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from mock_server.pytest_plugin import start_mock  # noqa: E402

WAIT = 15


@pytest.fixture(scope="module")
def mock():
    m = start_mock(task_speed=1)
    yield m
    m.stop()


@pytest.fixture(scope="module")
def api(mock):
    s = requests.Session()
    s.headers["Authorization"] = mock.token()
    return s


@pytest.fixture(scope="module")
def driver():
    d = start_chromium()
    yield d
    d.quit()


def wait(driver, cond, timeout=WAIT):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(cond)


def css(driver, selector, timeout=WAIT):
    return wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, selector)), timeout)


def text_in(driver, selector, text, timeout=WAIT):
    return wait(driver, EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text), timeout)


def test_search_a_vm_and_follow_it_to_a_lun_snapshot(mock, api, driver):
    snap = next(s for s in api.post(mock.api_url + "/get-vm-snapshots", json={}).json() if s.get("vm"))
    vm = snap["vm"]
    driver.get(mock.url + "/_mock/ui/")
    search = css(driver, "#search")
    search.send_keys(vm["name"])
    css(driver, f"#records[data-q='{vm['name']}']")
    link = css(driver, f"#records-table a[href='#/r/Vm/{vm['id']}']")
    assert link.text == vm["name"]
    link.click()
    text_in(driver, "#resource-title", vm["name"])
    assert driver.find_elements(By.CSS_SELECTOR, "#vm-disks a[data-type=IscsiLun]")
    ls = css(driver, "#vm-snapshots a[data-type=IscsiLunSnapshot]")
    name = ls.text
    ls.click()
    text_in(driver, "#resource-title", f"IscsiLunSnapshot {name}")
    # search by id finds it too
    driver.get(mock.url + "/_mock/ui/#/inventory")
    css(driver, "#search").send_keys(vm["id"])
    css(driver, f"#records[data-q='{vm['id']}']")
    assert css(driver, "#page-info").text == "1–1 of 1"
    assert css(driver, "#records-table a[data-type=Vm]").text == vm["name"]


def test_task_progress_moves_on_the_page(mock, api, driver):
    mock.admin("POST", "/clock/pause")
    try:
        vm = api.post(mock.api_url + "/get-vms", json={"where": {"status": "RUNNING"}, "first": 1}).json()[0]
        r = api.post(mock.api_url + "/create-vm-snapshot", json={"data": [{"vm_id": vm["id"], "name": "ui-snap"}]})
        task_id = r.json()[0]["task_id"]
        driver.get(mock.url + "/_mock/ui/#/tasks")
        row = f"#tasks-table tr[data-task='{task_id}']"
        text_in(driver, row, "PENDING")
        text_in(driver, row + " .pct", "0%")
        mock.admin("POST", "/clock/advance", {"seconds": 0.35})
        text_in(driver, row, "EXECUTING")
        pct = int(driver.find_element(By.CSS_SELECTOR, row + " .pct").text.rstrip("%"))
        assert 0 < pct < 100
        mock.admin("POST", "/clock/advance", {"seconds": 2})
        text_in(driver, row, "SUCCESSED")
        text_in(driver, row + " .pct", "100%")
        css(driver, "#task-filters [data-status=SUCCESSED]").click()
        css(driver, "#task-filters [data-status=SUCCESSED].on")
        text_in(driver, row, "SUCCESSED")
        statuses = {td.text for td in driver.find_elements(By.CSS_SELECTOR, "#tasks-table tbody td:nth-child(2)")}
        assert statuses == {"SUCCESSED"}
    finally:
        mock.admin("POST", "/clock/resume")


def test_journal_shows_a_requests_bodies(mock, api, driver):
    r = api.post(mock.api_url + "/get-vms", json={"where": {"name_contains": "db"}, "first": 2})
    rid = r.headers["x-tower-request-id"]
    driver.get(mock.url + "/_mock/ui/#/journal?operation=get-vms")
    row = wait(driver, lambda d: next((tr for tr in d.find_elements(By.CSS_SELECTOR, "#journal-table tr.click")
                                       if rid in tr.text), None))
    assert "get-vms" in row.text and "200" in row.text
    row.click()
    assert '"name_contains": "db"' in css(driver, "pre.req-body").text
    assert r.json()[0]["id"] in css(driver, "pre.resp-body").text


def test_add_and_remove_a_fault_rule(mock, api, driver):
    driver.get(mock.url + "/_mock/ui/#/control")
    css(driver, "#no-faults")
    css(driver, "#fault-operation").send_keys("get-clusters")
    css(driver, "#fault-status").send_keys("503")
    css(driver, "#fault-add").click()
    row = css(driver, "#faults-table tbody tr")
    assert "get-clusters" in row.text and "503" in row.text
    assert api.post(mock.api_url + "/get-clusters", json={}).status_code == 503
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    css(driver, "#no-faults")
    assert api.post(mock.api_url + "/get-clusters", json={}).status_code == 200
    # a bad rule gets the admin API's own 400 message, shown on the page
    css(driver, "#fault-json").send_keys('{"kind": "error", "operation": "get-clusters", "status": 42}')
    css(driver, "#fault-add").click()
    text_in(driver, "#flash.error", "status")
    assert mock.admin("GET", "/faults")["faults"] == []


def test_reset_from_the_page(mock, api, driver):
    count = lambda: api.post(mock.api_url + "/get-vm-snapshots-connection", json={}).json()["aggregate"]["count"]  # noqa: E731
    mock.admin("POST", "/reset", {})          # the world as loaded: what the page's reset returns to
    before = count()
    vm = api.post(mock.api_url + "/get-vms", json={"where": {"status": "RUNNING"}, "skip": 5, "first": 1}).json()[0]
    r = api.post(mock.api_url + "/create-vm-snapshot", json={"data": [{"vm_id": vm["id"], "name": "to-be-reset"}]})
    assert r.status_code == 200, r.text
    mock.admin("POST", "/clock/advance", {"seconds": 5})
    assert count() == before + 1
    driver.get(mock.url + "/_mock/ui/#/control")
    css(driver, "#reset").click()
    text_in(driver, "#flash", "Reset default")
    assert count() == before


def test_a_bad_state_file_gets_the_apis_message(mock, driver, tmp_path):
    bad = tmp_path / "not-a-state.json"
    bad.write_text('{"format": "something else"}')
    expected = requests.post(mock.url + "/_mock/state", data=bad.read_bytes()).json()["message"]
    driver.get(mock.url + "/_mock/ui/#/control")
    css(driver, "#import-file").send_keys(str(bad))
    css(driver, "#import").click()
    text_in(driver, "#flash.error", expected[:60])


def test_console_shows_the_vm_name_in_the_framebuffer(mock, api, driver):
    vm = api.post(mock.api_url + "/get-vms", json={"where": {"status": "RUNNING"}, "first": 1}).json()[0]
    driver.get(mock.url + f"/_mock/ui/#/r/Vm/{vm['id']}")
    css(driver, "#open-console").click()
    frame = css(driver, "#console-frame")
    driver.switch_to.frame(frame)
    try:
        wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "connected")
        wait(driver, lambda d: (canvas_text(d) or [""])[0] == f"CloudTower mock console: {vm['name']}")
        css(driver, "#screen canvas").click()
        driver.switch_to.active_element.send_keys("root")
        wait(driver, lambda d: any(line.endswith("login: root") for line in canvas_text(d)))
    finally:
        driver.switch_to.default_content()


def test_a_stopped_vm_offers_no_console(mock, api, driver):
    vm = api.post(mock.api_url + "/get-vms", json={"where": {"status": "RUNNING"}, "skip": 3, "first": 1}).json()[0]
    api.post(mock.api_url + "/poweroff-vm", json={"where": {"id": vm["id"]}})
    mock.admin("POST", "/clock/advance", {"seconds": 5})
    driver.get(mock.url + f"/_mock/ui/#/r/Vm/{vm['id']}")
    text_in(driver, "#resource-title", "STOPPED")
    assert not css(driver, "#open-console").is_enabled()
    driver.get(mock.url + f"/_mock/ui/#/console/{vm['id']}")
    text_in(driver, "#console-refused", "STOPPED")


def test_the_dashboard_asks_for_the_admin_token():
    m = start_mock(task_speed=0, admin_token="s3cret")
    d = start_chromium()
    try:
        d.get(m.url + "/_mock/ui/")
        box = css(d, "#token-input")
        wait(d, lambda _d: box.is_displayed())
        box.send_keys("wrong\n")
        text_in(d, "#token-error", "refused")
        box.send_keys("s3cret\n")
        css(d, "#records-table")
        assert d.execute_script("return sessionStorage.getItem('ctm.token')") == "s3cret"
    finally:
        d.quit()
        m.stop()
