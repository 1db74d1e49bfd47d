"""A real headless Chromium for the page tests, driven through
chromedriver's W3C WebDriver HTTP API with the standard library only
(urllib + json). Browser(dir) starts chromedriver on a free loopback
port and a Chromium with a fresh profile in dir; close() (or leaving
the with block, also on an exception or Ctrl-C) ends both."""

import atexit
import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from . import servers
from .servers import free_port, wait_until

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"   # the W3C element key
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,800"]


class WebDriverError(RuntimeError):
    def __init__(self, status, value):
        self.error = value.get("error", "") if isinstance(value, dict) else ""
        msg = value.get("message", "") if isinstance(value, dict) else str(value)
        super().__init__("webdriver %s: %s %s" % (status, self.error, msg[:500]))


def available():
    return shutil.which("chromedriver") is not None and shutil.which("chromium") is not None


class Browser:
    def __init__(self, directory):
        # A fresh profile each time: cookies are per host, not per port.
        self.dir = tempfile.mkdtemp(prefix="browser-", dir=directory)
        self.port = free_port()
        self.proc = None
        self.session = None
        self._start()

    # --- the processes -------------------------------------------------

    @staticmethod
    def _exit_on_sigterm():
        """A SIGTERM to the test run unwinds it like Ctrl-C does, so that
        close() (and the harness's own cleanup) still runs."""
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, lambda *a: sys.exit(128 + signal.SIGTERM))

    def _start(self):
        self._exit_on_sigterm()
        log = open(os.path.join(self.dir, "chromedriver.log"), "w")
        # chromedriver and the Chromium it starts: one group, tracked.
        self.proc = servers.popen(
            [shutil.which("chromedriver"), "--port=%d" % self.port,
             "--allowed-ips=127.0.0.1", "--log-path=" + os.path.join(self.dir, "driver.log")],
            stdout=log, stderr=log)
        atexit.register(self.close)
        try:
            wait_until(lambda: self._status_ready(), 20, "chromedriver")
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:loggingPrefs": {"browser": "ALL"},
                "goog:chromeOptions": {
                    "binary": shutil.which("chromium"),
                    "args": CHROMIUM_ARGS + ["--user-data-dir=" + os.path.join(self.dir, "profile")],
                }}}}
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except BaseException:
            self.close()
            raise

    def _status_ready(self):
        try:
            return self._call("GET", "/status", timeout=2)["ready"]
        except (OSError, WebDriverError):
            return False

    def close(self):
        if self.session is not None:
            try:
                self._call("DELETE", "/session/" + self.session, timeout=10)
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self.proc is not None:
            # chromedriver and the Chromium it started share its group.
            servers.kill_group(self.proc.pid)
            self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # --- the protocol --------------------------------------------------

    def _call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        if method == "POST" and data is None:
            data = b"{}"
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            try:
                value = json.loads(e.read()).get("value", {})
            except ValueError:
                value = {}
            raise WebDriverError(e.code, value) from None

    def cmd(self, method, path, body=None, timeout=60):
        return self._call(method, "/session/%s%s" % (self.session, path), body, timeout)

    # --- what tests use ------------------------------------------------

    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        """Run script (a function body) in the page; its return value."""
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css, timeout=10):
        """The element css selects, once there is one."""
        end = time.monotonic() + timeout
        while True:
            try:
                return self.cmd("POST", "/element",
                                {"using": "css selector", "value": css})[ELEMENT]
            except WebDriverError as e:
                if e.error != "no such element" or time.monotonic() > end:
                    raise
            time.sleep(0.05)

    def find_all(self, css):
        return [e[ELEMENT] for e in
                self.cmd("POST", "/elements", {"using": "css selector", "value": css})]

    def type(self, css, text):
        el = self.find(css)
        self.cmd("POST", "/element/%s/clear" % el)
        self.cmd("POST", "/element/%s/value" % el, {"text": text})

    def click(self, css):
        self.cmd("POST", "/element/%s/click" % self.find(css))

    def text(self, css):
        return self.cmd("GET", "/element/%s/text" % self.find(css))

    def alert_open(self):
        """Whether a JavaScript dialog (alert, confirm) is showing."""
        try:
            self.cmd("GET", "/alert/text")
            return True
        except WebDriverError as e:
            if e.error == "no such alert":
                return False
            raise

    def console(self):
        """The browser's console messages since the last call."""
        return self.cmd("POST", "/se/log", {"type": "browser"})

    def wait(self, script, timeout=30, what="a condition in the page", *args):
        """Wait until script returns something true (the page's own
        events: an image decoding, a fetch answering); its value."""
        end = time.monotonic() + timeout
        while True:
            v = self.js(script, *args)
            if v:
                return v
            if time.monotonic() > end:
                raise AssertionError("timed out waiting for " + what)
            time.sleep(0.05)

    def cdp(self, cmd, params):
        return self.cmd("POST", "/goog/cdp/execute", {"cmd": cmd, "params": params})

    def viewport(self, width, height, mobile=False, dark=False):
        """Emulate a screen of width x height CSS pixels (a phone when
        mobile) in the light or dark colour scheme."""
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1,
                  "mobile": mobile})
        self.cdp("Emulation.setEmulatedMedia",
                 {"features": [{"name": "prefers-color-scheme",
                                "value": "dark" if dark else "light"}]})

    def screenshot(self, path, full=False):
        """The viewport as a PNG into path; the whole page if full."""
        if full:
            size = self.cdp("Page.getLayoutMetrics", {})["cssContentSize"]
            png = base64.b64decode(self.cdp("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"],
                         "height": size["height"], "scale": 1}})["data"])
        else:
            png = base64.b64decode(self.cmd("GET", "/screenshot"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
        return png
