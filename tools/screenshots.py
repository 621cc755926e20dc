"""Take the dashboard screenshots of the README (docs/img/*.png) with headless Chromium.

    python tools/screenshots.py [--out docs/img]

Serves the default world in-process, makes some traffic (snapshots, a running task, a fault
rule, a console login) and photographs each main page at 1280x800."""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join(HERE, "..", "docs", "img"))
    args = parser.parse_args()
    from browser import browser_missing, start_chromium
    why = browser_missing()
    if why:
        print(why, file=sys.stderr)
        return 2
    import requests
    from selenium.webdriver.common.by import By

    from mock_server.pytest_plugin import start_mock
    os.makedirs(args.out, exist_ok=True)
    mock = start_mock(task_speed=1)
    driver = start_chromium(1280, 800)
    api = requests.Session()
    api.headers["Authorization"] = mock.token()
    base = mock.url + "/_mock/ui/"

    def shot(name: str, hash_: str, settle: float = 1.5, then=None) -> None:
        driver.get(base + hash_)
        time.sleep(settle)
        if then:
            then()
            time.sleep(0.8)
        driver.execute_script("window.scrollTo(0, 0)")
        path = os.path.join(args.out, name + ".png")
        driver.save_screenshot(path)
        print(f"{path}: {os.path.getsize(path) // 1024} KiB")

    try:
        vms = api.post(mock.api_url + "/get-vms", json={"where": {"status": "RUNNING"}, "orderBy": "name_ASC"}).json()
        db = next(v for v in vms if v["name"] == "db-1") if any(v["name"] == "db-1" for v in vms) else vms[0]
        api.post(mock.api_url + "/create-vm-snapshot", json={"data": [{"vm_id": db["id"], "name": "before-upgrade"}]})
        mock.admin("POST", "/clock/advance", {"seconds": 2})
        mock.admin("POST", "/clock/pause")
        for vm in vms[1:4]:
            api.post(mock.api_url + "/create-vm-snapshot", json={"data": [{"vm_id": vm["id"], "name": "nightly"}]})
        mock.admin("POST", "/clock/advance", {"seconds": 0.35})
        mock.admin("POST", "/faults", {"kind": "error", "operation": "get-clusters", "status": 503, "times": 3})
        mock.admin("POST", "/faults", {"kind": "latency", "ms": 250})
        api.post(mock.api_url + "/get-vms", json={"where": {"name_contains": "db"}, "first": 5})
        shot("inventory", "#/inventory")
        shot("vm", f"#/r/Vm/{db['id']}")
        shot("tasks", "#/tasks")
        shot("journal", "#/journal?operation=get-vms",
             then=lambda: driver.find_element(By.CSS_SELECTOR, "#journal-table tr.click").click())
        shot("control", "#/control")

        def login():
            frame = driver.find_element(By.CSS_SELECTOR, "#console-frame")
            driver.switch_to.frame(frame)
            driver.find_element(By.CSS_SELECTOR, "#screen canvas").click()
            driver.switch_to.active_element.send_keys("root\nroot\nuname -a\n")
            time.sleep(1)
            driver.switch_to.default_content()
        shot("console", f"#/console/{db['id']}", settle=2.5, then=login)
    finally:
        driver.quit()
        mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
