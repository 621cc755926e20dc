"""The dashboard and the VM console in a real browser (headless Chromium via selenium):
search a VM, follow it to a LUN snapshot, watch a task's progress move, add and remove a fault
rule, reset, open a console and read the VM's name from the RFB framebuffer."""

from __future__ import annotations


import pytest
import requests

from browser import browser_missing, canvas_text, start_chromium

_why = browser_missing()
if _why:
    pytest.skip(_why, allow_module_level=True)

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from mock_server.pytest_plugin import start_mock  # noqa: E402
from helpers import served_mock_fixtures  # noqa: E402

WAIT = 15


mock, api = served_mock_fixtures(task_speed=1)


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


def live(driver, fn, timeout=WAIT):
    """Run fn(driver) until it gets through without a stale element: live pages re-render
    their tables when the mock changes, and an element found just before may be replaced."""
    def attempt(d):
        try:
            return fn(d)
        except (StaleElementReferenceException, NoSuchElementException):
            return None
    return wait(driver, attempt, timeout)


def click(driver, selector):
    live(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector).click() or True)


def text_of(driver, selector):
    return live(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector).text or None)


def test_search_a_vm_and_follow_it_to_a_lun_snapshot(mock, api, driver):
    snap = next(s for s in api.post(mock.api_url + "/get-vm-snapshots", json={}).json() if s.get("vm"))
    vm = snap["vm"]
    driver.get(mock.url + "/_mock/ui/")
    search = css(driver, "#search")
    search.send_keys(vm["name"])
    css(driver, f"#records[data-q='{vm['name']}']")
    link = f"#records-table a[href='#/r/Vm/{vm['id']}']"
    assert text_of(driver, link) == vm["name"]
    click(driver, link)
    text_in(driver, "#resource-title", vm["name"])
    css(driver, "#vm-disks a[data-type=IscsiLun]")
    name = text_of(driver, "#vm-snapshots a[data-type=IscsiLunSnapshot]")
    click(driver, "#vm-snapshots a[data-type=IscsiLunSnapshot]")
    text_in(driver, "#resource-title", f"IscsiLunSnapshot {name}")
    # search by id finds it too
    driver.get(mock.url + "/_mock/ui/#/inventory")
    css(driver, "#search").send_keys(vm["id"])
    css(driver, f"#records[data-q='{vm['id']}']")
    assert text_of(driver, "#page-info") == "1–1 of 1"
    assert text_of(driver, "#records-table a[data-type=Vm]") == vm["name"]


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
        pct = int(text_of(driver, row + " .pct").rstrip("%"))
        assert 0 < pct < 100
        mock.admin("POST", "/clock/advance", {"seconds": 2})
        text_in(driver, row, "SUCCESSED")
        text_in(driver, row + " .pct", "100%")
        click(driver, "#task-filters [data-status=SUCCESSED]")
        css(driver, "#task-filters [data-status=SUCCESSED].on")
        text_in(driver, row, "SUCCESSED")
        statuses = live(driver, lambda d: {td.text for td in d.find_elements(
            By.CSS_SELECTOR, "#tasks-table tbody td:nth-child(2)")} or None)
        assert statuses == {"SUCCESSED"}
    finally:
        mock.admin("POST", "/clock/resume")


def test_journal_shows_a_requests_bodies(mock, api, driver):
    r = api.post(mock.api_url + "/get-vms", json={"where": {"name_contains": "db"}, "first": 2})
    rid = r.headers["x-tower-request-id"]
    seq = next(e["seq"] for e in mock.admin("GET", "/journal")["entries"] if e.get("request_id") == rid)
    driver.get(mock.url + "/_mock/ui/#/journal?operation=get-vms")
    row = f"#journal-table tr[data-seq='{seq}']"
    text_in(driver, row, rid)
    assert "get-vms" in text_of(driver, row) and "200" in text_of(driver, row)
    click(driver, row)
    text_in(driver, "pre.req-body", '"name_contains": "db"')
    text_in(driver, "pre.resp-body", r.json()[0]["id"])


def test_add_and_remove_a_fault_rule(mock, api, driver):
    driver.get(mock.url + "/_mock/ui/#/control")
    css(driver, "#no-faults")
    css(driver, "#fault-operation").send_keys("get-clusters")
    css(driver, "#fault-status").send_keys("503")
    click(driver, "#fault-add")
    text_in(driver, "#faults-table tbody tr", "get-clusters")
    assert "503" in text_of(driver, "#faults-table tbody tr")
    assert api.post(mock.api_url + "/get-clusters", json={}).status_code == 503
    click(driver, "#faults-table tbody tr button.danger")
    css(driver, "#no-faults")
    assert api.post(mock.api_url + "/get-clusters", json={}).status_code == 200
    # a bad rule gets the admin API's own 400 message, shown on the page
    css(driver, "#fault-json").send_keys('{"kind": "error", "operation": "get-clusters", "status": 42}')
    click(driver, "#fault-add")
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
    click(driver, "#reset")
    text_in(driver, "#flash", "Reset default")
    assert count() == before


def test_a_bad_state_file_gets_the_apis_message(mock, driver, tmp_path):
    bad = tmp_path / "not-a-state.json"
    bad.write_text('{"format": "something else"}')
    expected = requests.post(mock.url + "/_mock/state", data=bad.read_bytes()).json()["message"]
    driver.get(mock.url + "/_mock/ui/#/control")
    css(driver, "#import-file").send_keys(str(bad))
    click(driver, "#import")
    text_in(driver, "#flash.error", expected[:60])


def test_console_shows_the_vm_name_in_the_framebuffer(mock, api, driver):
    vm = api.post(mock.api_url + "/get-vms", json={"where": {"status": "RUNNING"}, "first": 1}).json()[0]
    driver.get(mock.url + f"/_mock/ui/#/r/Vm/{vm['id']}")
    click(driver, "#open-console")
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
