"""The HTML plan report rendered by headless Chromium: a real screenshot and no console errors.

Skipped only when no Chromium binary exists (CI installs it in ``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kpl.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "fleet"
GATES = "MultiplePodTemplatesScheduling=true,Failover=true,StatefulFailoverInjection=true," \
        "FederatedQuotaEnforcement=true"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def console_problems(log: str) -> list[str]:
    """Lines of Chromium's log that report the page's console output or an uncaught exception.

    The page has no script, so any console line at all is a problem (a blocked resource is one too).
    """
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_console_problems_are_found_in_a_log() -> None:
    log = ('[1:1:1127/230831.698017:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n'
           '[1:1:1127/230831.698452:INFO:CONSOLE:1] "Uncaught ReferenceError: f", source: x (1)\n')
    assert console_problems(log) == [log.splitlines()[1]]
    assert console_problems(log.splitlines()[0]) == []


def write_page(folder: Path) -> Path:
    old = folder / "old"
    old.mkdir()
    for path in (EXAMPLE / "policies").iterdir():
        text = path.read_text()
        old.joinpath(path.name).write_text(text.replace("replicas divided dynamic",
                                                        "replicas divided static { member1: 1, member2: 2 }"))
    page = folder / "report.html"
    code = main(["plan", str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot"),
                 "--feature-gates", GATES, "--fail", "member1", "--baseline", str(old), "-o", "html",
                 "--output-file", str(page)])
    assert code == 0
    return page


def test_the_page_renders_in_chromium(tmp_path: Path) -> None:
    binary = chromium()
    if binary is None:
        pytest.skip("no Chromium binary (chromium, chromium-browser or google-chrome) on PATH")
    page = write_page(tmp_path)
    shot = tmp_path / "report.png"
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
               "--enable-logging=stderr", "--v=0", page.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    sys.stdout.write(f"\nscreenshot of the HTML report: {shot}\n")
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert console_problems(done.stderr) == []
