"""Headless Chromium driven over the DevTools protocol on a pipe (stdlib only).

``chromium --window-size`` cannot go below 500 px on Linux, so a phone width needs
``Emulation.setDeviceMetricsOverride``; the protocol also gives full-page screenshots and a way to
measure the layout (``Runtime.evaluate`` is not subject to the page's Content-Security-Policy).
The browser reads commands on fd 3 and writes answers on fd 4, each a JSON text ended by NUL.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TIMEOUT_S = 60.0
MAX_HEIGHT = 20000  # a full-page screenshot is cut there (a 16,000 px report still fits)

# Every visible piece of text must lie inside the viewport, and no element may clip or scroll its
# content sideways. Folded <details> are opened first so what they hold is checked too.
LAYOUT_CHECK_JS = r"""
(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const vw = document.documentElement.clientWidth;
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > vw + 1) out.push(`page is ${root.scrollWidth}px wide in a ${vw}px viewport`);
  const sel = 'h1,h2,h3,p,li,td,th,dd,dt,summary,a,span,code,b,del,ins,div,svg,table,input,label';
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden') continue;
    const what = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${(el.textContent || '').trim().slice(0, 30)}"`;
    if (r.right > vw + 1 || r.left < -1) out.push(`${what} reaches ${Math.round(r.left)}..${Math.round(r.right)}px`);
    else if (el.scrollWidth > el.clientWidth + 1 && cs.overflowX !== 'visible' && el.tagName !== 'INPUT')
      out.push(`${what} clips or scrolls ${el.scrollWidth}px of content in ${el.clientWidth}px`);
    if (out.length >= 30) break;
  }
  return out;
})()
"""


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    pass


class Chrome:
    """One headless browser with one page; use as a context manager."""

    def __init__(self, executable: str | None = None):
        exe = executable or find_chromium()
        if exe is None:
            raise BrowserError("Chromium が見つかりません (apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="etl-chrome-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire() -> None:  # in the child: the pipe ends become fd 3 and fd 4
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=wire)  # the protocol's fds must be exactly 3 and 4
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.page_height = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.page("Page.enable")
        self.page("Runtime.enable")

    # --- protocol ------------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        while data:
            n = os.write(self._to_child, data)
            data = data[n:]

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the pipe")
                self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._send(message)
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.call(method, self.session, **params)

    def wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._receive(deadline))

    # --- what the render script and the tests use --------------------------------------------
    def open(self, path: Path, width: int, height: int = 900) -> None:
        """Load a local file in a viewport of ``width`` CSS px (a phone when under 600)."""
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 600)
        self.events.clear()
        self.page("Page.navigate", url=Path(path).resolve().as_uri())
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        answer = self.page("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise BrowserError(f"script failed: {answer['exceptionDetails']}")
        return answer.get("result", {}).get("value")

    def layout_problems(self) -> list[str]:
        """Text outside the viewport, clipped or needing a sideways scroll (empty when readable)."""
        return list(self.evaluate(LAYOUT_CHECK_JS) or [])

    def screenshot(self, dest: Path, width: int) -> Path:
        """The whole page (up to MAX_HEIGHT px tall) as PNG at ``width`` CSS px."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or 900)
        height = max(200, min(height, MAX_HEIGHT))
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 600)
        shot = self.page("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(base64.b64decode(shot["data"]))
        self.page_height = height
        return dest

    def tiles(self, dest: Path, width: int, tile: int = 1400) -> list[Path]:
        """After ``screenshot``: the page again in pieces ``tile`` px tall (…-p1.png, -p2…), small
        enough to look at one by one."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        out = []
        for n, top in enumerate(range(0, self.page_height, tile), start=1):
            clip = {"x": 0, "y": top, "width": width, "height": min(tile, self.page_height - top), "scale": 1}
            shot = self.page("Page.captureScreenshot", format="png", clip=clip)
            path = dest.with_name(f"{dest.stem}-p{n}{dest.suffix}")
            path.write_bytes(base64.b64decode(shot["data"]))
            out.append(path)
        return out

    def close(self) -> None:
        try:
            self._send({"id": self._id + 1, "method": "Browser.close", "params": {}})
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, BrowserError):
            self.proc.kill()
            self.proc.wait()
        finally:
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chrome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
