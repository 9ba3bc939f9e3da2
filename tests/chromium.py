"""Open a page in headless Chromium (Debian's `chromium`) and look at it as a person would, over the
DevTools protocol (a websocket, with the `websockets` client): what the console said, which requests
the page made, where elements are drawn, and a screenshot.

Tests that use it skip only when Chromium is not installed (`scripts/test.sh` installs it)."""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
WIDTH, HEIGHT = 1280, 900
TIMEOUT = 30.0


def executable() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium package)")
    return found


@dataclass
class Page:
    """One tab, attached over the DevTools protocol."""

    socket: Any
    session: str
    console: list[str] = field(default_factory=list)  # errors and warnings, from the console and the log
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params, "sessionId": self.session}))
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == ident and message.get("sessionId") == self.session:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def wait_for(self, event: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            self._event(message)
            if message.get("method") == event and message.get("sessionId") == self.session:
                return

    def _event(self, message: dict[str, Any]) -> None:
        if message.get("sessionId") != self.session:
            return  # another tab's
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            self.console.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            self.console.append(params["entry"]["text"])
        elif method == "Network.requestWillBeSent" and not params["request"]["url"].startswith("data:"):
            self.requests.append(params["request"]["url"])  # data: URIs are inline, not fetched

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """The whole page as PNG."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """A fresh headless Chromium (its own profile directory), yielding `new_page()`."""
    from websockets.sync.client import connect

    chromium = executable()
    # Chromium's helpers may still write to the profile while it exits: cleanup errors are not the test's
    with tempfile.TemporaryDirectory(prefix="mlstack-chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + TIMEOUT
            while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Chromium did not start (exit {process.poll()})")
                time.sleep(0.05)
            port, path = port_file.read_text().splitlines()[:2]
            with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=TIMEOUT) as socket:
                counter = itertools.count(1)

                def call(method: str, **params: Any) -> dict[str, Any]:
                    ident = next(counter) + 1_000_000
                    socket.send(json.dumps({"id": ident, "method": method, "params": params}))
                    while True:
                        message = json.loads(socket.recv(timeout=TIMEOUT))
                        if message.get("id") == ident:
                            return message["result"]

                def new_page() -> Page:
                    target = call("Target.createTarget", url="about:blank")["targetId"]
                    session = call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
                    page = Page(socket, session)
                    for domain in ("Page", "Runtime", "Log", "Network"):
                        page.send(f"{domain}.enable")
                    page.send(
                        "Emulation.setDeviceMetricsOverride",
                        width=WIDTH,
                        height=HEIGHT,
                        deviceScaleFactor=1,
                        mobile=False,
                    )
                    return page

                yield new_page
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _colours(png: Path) -> tuple[int, dict[tuple[int, int, int], int]]:
    from PIL import Image

    with Image.open(io.BytesIO(png.read_bytes())) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert colours, "an empty image"
    return sum(n for n, _ in colours), {c: n for n, c in colours}


@pytest.fixture(scope="module")
def pages() -> Iterator[Any]:
    """`new_page()` of one browser shared by a test module (starting Chromium takes seconds)."""
    with browser() as new_page:
        yield new_page


def blank_fraction(png: Path) -> float:
    """The share of the screenshot's pixels that are the page background (its most common colour)."""
    total, colours = _colours(png)
    return max(colours.values()) / total


def colour_share(png: Path, hex_colour: str) -> float:
    """The share of pixels drawn in exactly this colour (e.g. a chart's bars)."""
    total, colours = _colours(png)
    rgb = tuple(int(hex_colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return colours.get(rgb, 0) / total


# What a person sees of an element: rendered (not in a closed <details>, not display:none, not hidden, not
# transparent), with a non-zero box inside the page.
VISIBLE_JS = """
(el) => {
  const r = el.getBoundingClientRect();
  return el.checkVisibility({contentVisibilityAuto: true, opacityProperty: true, visibilityProperty: true})
    && r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= document.documentElement.scrollWidth + 1;
}
"""


def visible_text(page: Page, text: str) -> bool:
    """Whether `text` appears in an element a person can see (the innermost element holding it)."""
    expression = f"""(() => {{
      const visible = {VISIBLE_JS};
      const want = {json.dumps(text)};
      const all = [...document.querySelectorAll('body *')].filter(el => (el.textContent || '').includes(want));
      const inner = all.filter(el => ![...el.children].some(c => (c.textContent || '').includes(want)));
      return inner.some(visible);
    }})()"""
    return bool(page.js(expression))
