"""Headless Debian Chromium for the browser tests and the screenshots; no self-downloading browsers."""

import os
import shutil
import tempfile
import threading

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from werkzeug.serving import WSGIRequestHandler, make_server

import helpers

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (390, 844)
DESKTOP = (1280, 900)


def browser_available() -> bool:
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


def require_browser() -> None:
    """At the top of a browser test module: skip it without Chromium, fail in CI (REQUIRE_BROWSER)."""
    if browser_available():
        return
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError("REQUIRE_BROWSER is set but chromium or chromedriver is missing")
    pytest.skip(
        "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


def start_browser(size=DESKTOP, javascript: bool = True, language: str = "en-CA") -> webdriver.Chrome:
    """A fresh headless Chromium with no profile and no background network traffic."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--hide-scrollbars",
        f"--lang={language}",
        f"--window-size={size[0]},{size[1]}",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "intl.accept_languages": language,
            "profile.managed_default_content_settings.javascript": 1 if javascript else 2,
        },
    )
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class QuietHandler(WSGIRequestHandler):
    """No request lines in the logs: they carry addresses and link tokens."""

    def log_request(self, *args, **kwargs):
        pass


class LiveServer:
    """The app served over real HTTP on a free port, in a thread."""

    def __init__(self, app, port: int):
        self.server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(10)


def wait_until(condition, timeout: float = 20.0):
    """helpers.wait_until for a page, which may still be changing under the browser."""
    return helpers.wait_until(
        condition, timeout, interval=0.2, ignoring=(StaleElementReferenceException, NoSuchElementException)
    )
