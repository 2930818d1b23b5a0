"""Render report.html in a real headless browser (Debian's chromium): it loads, shows, logs nothing.

Skipped when ``chromium`` is not on PATH (install: ``apt-get install -y chromium``).
"""

import shutil
import subprocess

import matplotlib.image
import numpy as np
import pytest

from perfmodel.reports import write_report

from report_testdata import synthetic_table  # tests/perfmodel is on sys.path (rootdir import mode)

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (apt-get install -y chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def _chromium(tmp_path, *args):
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"  # fresh user data dir per run
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_console_check_detects_errors(tmp_path):
    """Control: the log scan used below does see a page's console errors."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>throw new Error('boom')</script></body></html>")
    proc = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("boom" in line for line in _console_errors(proc.stderr))


def test_report_renders_in_chromium_without_console_errors(tmp_path):
    df = synthetic_table()
    study = df[df.network == "small"].sample(12, random_state=0).assign(iteration=range(12))
    paths = write_report(df, ["threads", "freq_ghz", "batch"], ["runtime_s", "power_w"], tmp_path / "r",
                         study=study, degree=1)
    url = paths["html"].as_uri()
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert _console_errors(dom.stderr) == []
    assert dom.stdout.count("<img") == 5 and "Pareto-optimal configurations" in dom.stdout
    shot = tmp_path / "shot.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,16000", "--hide-scrollbars", url)
    assert _console_errors(proc.stderr) == []
    img = matplotlib.image.imread(shot)[..., :3]
    assert img.shape[:2] == (16000, 1200)
    # the figures are drawn: matplotlib's default blue (C0, #1f77b4) appears in the rendered page
    blue = np.all(np.abs(img - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.06, axis=-1)
    assert blue.sum() > 200
