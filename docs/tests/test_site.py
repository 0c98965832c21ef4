"""The built site, checked in headless Chromium (run by .ci/run after the docs build).

Run after ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``::

    python -m pytest docs/tests -p no:cacheprovider

The site is served from 127.0.0.1 (``file://`` breaks the search page); Chromium (the Debian
package, driven by the Debian ``chromedriver`` through selenium) cannot resolve any other
host, and every request it makes is recorded: a request leaving the machine fails the test
even though it could not succeed. Screenshots go to ``docs/_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

DOCS = Path(__file__).resolve().parents[1]
HTML = DOCS / "_build" / "html"
SHOTS = DOCS / "_build" / "screenshots"

#: The checked pages: name -> (path, whether the page shows math).
PAGES = {
    "home": ("index.html", True),
    "theory": ("theory/inference_time.html", True),
    "gallery": ("auto_examples/inference_time/plot_best_of_n_law.html", True),
    "api": ("api/sharpsim.best_of_n_law.html", False),
    "lecture": ("lectures/01_sharpening_idea.html", True),
}


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        message = "needs the Debian packages chromium and chromium-driver"
        if os.environ.get("CI"):  # .ci/run installs them: missing there is a failure
            pytest.fail(message)
        pytest.skip(message)
    return browser, driver


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built site at {HTML}; build it first (see docs/conf.py)")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        # nothing but the local server resolves: the site must work offline
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _wait(driver, script: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    return driver.execute_script(script)


def _load(driver, url: str):
    driver.get_log("browser")  # drop earlier pages' entries
    driver.get_log("performance")
    driver.get(url)
    _wait(driver, "return document.readyState === 'complete'")


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page(server, browser, name):
    path, has_math = PAGES[name]
    _load(browser, f"{server}/{path}")
    if has_math:
        typeset = _wait(
            browser,
            "return !!(window.MathJax && MathJax.startup && MathJax.startup.document"
            " && document.querySelectorAll('mjx-container').length > 0"
            " && document.querySelectorAll('.MathJax_Processing, mjx-merror').length === 0);",
        )
        assert typeset, f"{name}: MathJax output (mjx-container) not found"
    # every image has loaded (lazy images are scrolled into view first)
    browser.execute_script(
        "document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; i.scrollIntoView(); });"
        "window.scrollTo(0, 0);"
    )
    broken = _wait(
        browser,
        "const imgs = [...document.images];"
        "const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0));"
        "return bad.length === 0 ? 'ok' : null;",
        timeout=20,
    )
    if broken != "ok":
        bad = browser.execute_script(
            "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);"
        )
        pytest.fail(f"{name}: images not loaded: {bad}")
    images = browser.execute_script("return document.images.length;")
    if name in ("theory", "gallery", "lecture"):
        assert images >= 1, f"{name}: expected at least one figure"
    text = browser.execute_script("return document.body.innerText;")
    assert "\\(" not in text and "\\[" not in text, f"{name}: raw LaTeX delimiters on the page"
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{name}: console errors {errors}"
    host = urlparse(server).netloc
    leaving = [
        u
        for u in _requests(browser)
        if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != host
    ]
    assert not leaving, f"{name}: requests leaving the machine: {leaving}"


def test_search_finds_coverage(server, browser):
    _load(browser, f"{server}/search.html?q=coverage")
    hits = _wait(
        browser,
        "const items = document.querySelectorAll('#search-results li, ul.search li');"
        "return items.length > 0 ? [...items].map(li => li.innerText) : null;",
        timeout=60,
    )
    browser.save_screenshot(str(SHOTS / "search.png"))
    assert hits, "the search page found nothing for 'coverage'"
    assert any("coverage" in hit.lower() for hit in hits)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"search: console errors {errors}"


def test_every_public_name_is_in_the_reference():
    """objects.inv of the built site holds every public name (each under its documented name)."""
    import sys

    from sphinx.util.inventory import InventoryFile

    sys.path.insert(0, str(DOCS / "_ext"))
    import apigen

    with (HTML / "objects.inv").open("rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    documented = {name for entries in inventory.values() for name in entries}
    with apigen.import_with_mocks():
        spaces = apigen.namespaces()
        canon = apigen.canonical_names(spaces)
    missing = sorted(full for full, target in canon.items() if target not in documented)
    assert not missing, f"public names missing from the API reference: {missing}"
