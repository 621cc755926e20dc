"""Headless Chromium for the dashboard tests and the screenshot tool (Debian's `chromium` and
`chromium-driver`, driven with selenium). `browser_missing()` says why none can run."""

from __future__ import annotations

import os
import shutil
import tempfile

CHROMIUM = os.environ.get("CTM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CTM_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM) or not os.path.exists(CHROMEDRIVER):
        return "browser tests skipped: chromium / chromedriver not installed (apt-get install -y chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "browser tests skipped: selenium is not installed (pip install -e '.[test]')"
    return None


def start_chromium(width: int = 1400, height: int = 1000):
    """A fresh headless Chromium (its own profile directory, removed on quit)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="ctm-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS + (f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    quit_ = driver.quit

    def quit_and_clean():
        try:
            quit_()
        finally:
            shutil.rmtree(profile, ignore_errors=True)
    driver.quit = quit_and_clean
    return driver


# Reads the noVNC canvas: '1' where a pixel differs from the console's background colour.
CANVAS_BITS_JS = """
const c = document.querySelector('#screen canvas');
if (!c || !c.width) return null;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
const bg = arguments[0];
const out = new Array(c.width * c.height);
for (let i = 0, j = 0; i < d.length; i += 4, j++) out[j] = (d[i] !== bg[0] || d[i + 1] !== bg[1] || d[i + 2] !== bg[2]) ? '1' : '0';
return [c.width, c.height, out.join('')];
"""


def canvas_text(driver) -> list[str] | None:
    """The console's text, read back from the noVNC canvas with the mock's own font."""
    from mock_server.vnc.console import PALETTE, read_text
    got = driver.execute_script(CANVAS_BITS_JS, list(PALETTE[0]))
    if not got:
        return None
    w, h, bits = got
    return read_text(bits, w, h, is_set=lambda v: v == "1")
