"""Render reports in a real headless browser (Debian's chromium): they load, show every section with its
figures, log nothing; screenshots of each report's first screen and of its profile section are saved under
``out/screenshots/`` for a person to look at.

Skipped when ``chromium`` is not on PATH (install: ``apt-get install -y chromium``). The CPU demo report needs
minutes of profiling: test_demo.py (slow) renders it the same way.
"""

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from perfmodel.reports import write_report

from report_testdata import profile_table, synthetic_table  # tests/perfmodel is on sys.path (rootdir import mode)

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (apt-get install -y chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
# what each section of a report shows: its id and figures (the decision part always has its Pareto front here)
SECTION_FIGURES = {"profile": {"profile-types", "profile-gap", "profile-top-layers", "profile-flops", "profile-knobs"},
                   "prediction": {"prediction-unseen", "prediction-types"},
                   "decision": {"pareto", "knobs", "interactions", "predicted"}}


def _chromium(tmp_path, *args):
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"  # fresh user data dir per run
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def rendered_sections(tmp_path, html_path) -> dict[str, set[str]]:
    """Load the page in chromium; the figures drawn in each of its sections (``id -> figure names``)."""
    dom = _chromium(tmp_path, "--dump-dom", html_path.as_uri())
    assert _console_errors(dom.stderr) == []
    out = {}
    for part in re.split(r"<section ", dom.stdout)[1:]:
        sid = re.match(r"""id=["']([a-z-]+)["']""", part).group(1)
        body = part.split("</section>")[0]
        out[sid] = set(re.findall(r"""<figure id=["']fig-([a-z-]+)["']><img""", body))
        assert body.count("<img") == len(out[sid]) and "data:image/png;base64," in body
    return out


def screenshots(tmp_path, html_path, name: str) -> dict[str, np.ndarray]:
    """``<name>-first-screen.png`` (1200 x 900, what a reader sees on opening) and ``<name>-profile.png`` (the
    profile section from its top: the page with every other part hidden), saved under out/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {}
    first = SCREENSHOTS / f"{name}-first-screen.png"
    proc = _chromium(tmp_path, f"--screenshot={first}", "--window-size=1200,900", "--hide-scrollbars",
                     html_path.as_uri())
    assert _console_errors(proc.stderr) == []
    shots["first"] = matplotlib.image.imread(first)[..., :3]
    # the profile section alone: a copy of the page whose other parts are hidden by one added style rule
    page = html_path.read_text(encoding="utf-8")
    hide = "<style>body>*:not(#profile){display:none}</style></head>"
    only = html_path.with_name(f".{name}-profile-only.html")
    only.write_text(page.replace("</head>", hide, 1), encoding="utf-8")
    prof = SCREENSHOTS / f"{name}-profile.png"
    proc = _chromium(tmp_path, f"--screenshot={prof}", "--window-size=1200,2400", "--hide-scrollbars", only.as_uri())
    only.unlink()
    assert _console_errors(proc.stderr) == []
    shots["profile"] = matplotlib.image.imread(prof)[..., :3]
    return shots


def _drawn(img: np.ndarray) -> int:
    """Pixels of matplotlib's default blue (C0, #1f77b4): the figures are drawn."""
    return int(np.all(np.abs(img - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.06, axis=-1).sum())


def test_console_check_detects_errors(tmp_path):
    """Control: the log scan used below does see a page's console errors."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>throw new Error('boom')</script></body></html>")
    proc = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("boom" in line for line in _console_errors(proc.stderr))


def test_h200_demo_report_renders_every_section(tmp_path, capsys):
    from perfmodel.demo import _report_h200

    _report_h200(str(tmp_path))
    html_path = tmp_path / "report-h200" / "report.html"
    text = html_path.read_text()
    assert "Replayed: NVIDIA H200" in text and "replayed here, not measured on this machine" in text
    sections = rendered_sections(tmp_path, html_path)
    assert list(sections) == ["profile", "prediction", "decision"]
    for sid, names in SECTION_FIGURES.items():
        assert sections[sid] >= names, sid
    # the table model fitted on the synthetic networks (32 of the 43, datasets/h200-torch/README.md) of both
    # tables predicts the application networks it never saw
    assert "fitted here on 32 synthetic networks of both tables" in text
    shots = screenshots(tmp_path, html_path, "demo-h200")
    assert shots["first"].shape[:2] == (900, 1200) and shots["profile"].shape[:2] == (2400, 1200)
    assert _drawn(shots["profile"]) > 2000  # the share-by-type bars of 43 networks start with conv2d in C0
    # real power and energy are analysed, not reported missing
    assert "Energy per inference: from" in text and "no power sensor" not in text


def test_report_with_every_section_renders(tmp_path):
    from test_report_profile import FakePredictor

    paths = write_report(profile_table(), ["threads", "batch"], ["runtime_s", "energy_j"], tmp_path / "r",
                         model=FakePredictor(), model_label="fake.json", title="Synthetic: every section")
    sections = rendered_sections(tmp_path, paths["html"])
    assert list(sections) == ["profile", "prediction", "decision"]
    for sid, names in SECTION_FIGURES.items():
        assert sections[sid] >= names, sid
    shots = screenshots(tmp_path, paths["html"], "synthetic")
    assert _drawn(shots["profile"]) > 200


def test_report_of_whole_network_rows_renders(tmp_path):
    df = synthetic_table()
    study = df[df.network == "small"].sample(12, random_state=0).assign(iteration=range(12))
    paths = write_report(df, ["threads", "freq_ghz", "batch"], ["runtime_s", "power_w"], tmp_path / "r",
                         study=study, degree=1)
    sections = rendered_sections(tmp_path, paths["html"])
    assert sections["profile"] == {"profile-knobs"}  # no layer rows, no flops: the section says so
    assert sections["decision"] == SECTION_FIGURES["decision"] | {"convergence"}
    shot = tmp_path / "shot.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,16000", "--hide-scrollbars",
                     paths["html"].as_uri())
    assert _console_errors(proc.stderr) == []
    assert _drawn(matplotlib.image.imread(shot)[..., :3]) > 200
