"""SIMULATED Jetson sysfs/debugfs trees for tests and documentation.

:func:`build_fake_jetson` writes, into an ordinary folder, the files a Jetson TX1 (L4T 28 or 32), TX2
(L4T 28 or 32) or Xavier (L4T 32) exposes for DVFS, core hot-plug and INA3221 power rails, with the
paths used by NVIDIA's ``jetson_clocks`` scripts of those releases. Nothing here talks to hardware: the
files are plain text, a write simply replaces the content, and the power readings are fixed numbers that
tests change with :func:`set_rail_power`. The tree carries a marker file (:data:`FAKE_MARKER`) so that
:class:`~profiling.platforms.jetson.JetsonPlatform` labels everything it produces on it
``simulated:jetson``.
"""

from __future__ import annotations

import os
from pathlib import Path

FAKE_MARKER = ".perfmodel-simulated-jetson"

_TX1_CPU_KHZ = (102000, 204000, 307200, 403200, 518400, 614400, 710400, 825600, 921600, 1036800, 1132800,
                1224000, 1326000, 1428000, 1555500, 1632000, 1734000)
_TX1_GPU_HZ = (76800000, 153600000, 230400000, 307200000, 384000000, 460800000, 537600000, 614400000,
               691200000, 768000000, 844800000, 921600000, 998400000)
_TX1_EMC_KHZ = (40800, 68000, 102000, 204000, 408000, 665600, 800000, 1065600, 1331200, 1600000)
_TX2_CPU_KHZ = (345600, 499200, 652800, 806400, 960000, 1113600, 1267200, 1420800, 1574400, 1728000, 1881600,
                2035200)
_TX2_GPU_HZ = (140250000, 318750000, 497250000, 675750000, 854250000, 943500000, 1122000000, 1300500000)
_TX2_EMC_KHZ = (40800, 68000, 102000, 204000, 408000, 665600, 800000, 1062400, 1331200, 1600000, 1866000)
_XAVIER_CPU_KHZ = (115200, 422400, 729600, 1036800, 1344000, 1651200, 1958400, 2265600)
_XAVIER_GPU_HZ = (114750000, 318750000, 522750000, 726750000, 930750000, 1134750000, 1377000000)
_XAVIER_EMC_KHZ = (204000, 408000, 665600, 800000, 1065600, 1331200, 1600000, 2133000)

BOARDS = {
    # board: (chip id, cpu count, cpu kHz, gpu Hz, emc kHz, devfreq dir, ina3221 devices)
    "tx1": (0x21, 4, _TX1_CPU_KHZ, _TX1_GPU_HZ, _TX1_EMC_KHZ, "sys/devices/57000000.gpu/devfreq/57000000.gpu",
            {"1-0040": (("VDD_IN", 4800, 5000), ("VDD_GPU", 900, 1000), ("VDD_CPU", 700, 1000))}),
    "tx2": (0x18, 6, _TX2_CPU_KHZ, _TX2_GPU_HZ, _TX2_EMC_KHZ, "sys/devices/17000000.gp10b/devfreq/17000000.gp10b",
            {"0-0040": (("VDD_SYS_GPU", 500, 19000), ("VDD_SYS_SOC", 800, 19000), ("VDD_4V0_WIFI", 20, 4000)),
             "0-0041": (("VDD_IN", 3900, 19000), ("VDD_SYS_CPU", 400, 19000), ("VDD_SYS_DDR", 600, 19000))}),
    "xavier": (0x19, 8, _XAVIER_CPU_KHZ, _XAVIER_GPU_HZ, _XAVIER_EMC_KHZ,
               "sys/devices/17000000.gv11b/devfreq/17000000.gv11b",
               {"1-0040": (("GPU", 1200, 19000), ("CPU", 1500, 19000), ("SOC", 2500, 19000)),
                "1-0041": (("CV", 0, 19000), ("VDDRQ", 600, 19000), ("SYS5V", 1800, 5000))}),
}


def _w(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="ascii")


def build_fake_jetson(root: str | os.PathLike, board: str = "tx1", l4t: int = 28, *, power: str = "iio",
                      cpuquiet: bool | None = None, debugfs: bool = True) -> Path:
    """Write a simulated Jetson tree under ``root`` and return it.

    Parameters
    ----------
    root : path-like
        Folder to fill (created if needed).
    board : {"tx1", "tx2", "xavier"}
    l4t : {28, 32}
        L4T major release: on TX1, 28 exposes the legacy ``debug/clock/override.*`` GPU/EMC overrides,
        32 the GPU devfreq ``min_freq``/``max_freq`` and ``debug/clk/override.emc``.
    power : {"iio", "iio_device", "hwmon", "none"}
        Style of the INA3221 files: L4T ``ina3221x`` iio driver (``iio:deviceN``), its L4T 28 layout
        (``iio_device`` under the device, ``sys/bus/i2c/drivers/ina3221x/<dev>`` a link to it), mainline
        hwmon driver, or no monitor.
    cpuquiet : bool, optional
        Add the TX1 ``cpuquiet`` hot-plug governor (default: on TX1 only).
    debugfs : bool
        False leaves out ``sys/kernel/debug`` (debugfs not mounted).
    """
    if board not in BOARDS:
        raise ValueError(f"unknown simulated board {board!r}; known: {', '.join(BOARDS)}")
    if l4t not in (28, 32):
        raise ValueError("l4t must be 28 or 32")
    if board == "xavier" and l4t != 32:
        raise ValueError("Xavier runs L4T 32")
    chip, ncpu, cpu_khz, gpu_hz, emc_khz, devfreq, ina = BOARDS[board]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _w(root, FAKE_MARKER, f"simulated {board} L4T {l4t}: plain files, not hardware")
    _w(root, "sys/module/tegra_fuse/parameters/tegra_chip_id", str(chip))
    model = {"tx1": "NVIDIA Jetson TX1", "tx2": "NVIDIA Jetson TX2", "xavier": "Jetson-AGX"}[board]
    (root / "proc/device-tree").mkdir(parents=True, exist_ok=True)
    (root / "proc/device-tree/model").write_bytes(model.encode() + b"\0")
    soc = {0x21: "tegra210", 0x18: "tegra186", 0x19: "tegra194"}[chip]
    (root / "proc/device-tree/compatible").write_bytes(f"nvidia,p2371\0nvidia,{soc}\0".encode())
    rev = "2.1" if l4t == 28 else "4.4"
    _w(root, "etc/nv_tegra_release", f"# R{l4t} (release), REVISION: {rev}, GCID: 0, BOARD: simulated, "
                                     "EABI: aarch64, DATE: simulated")
    _w(root, "proc/version", f"Linux version 4.{4 if l4t == 28 else 9}.140-tegra (simulated)")

    # CPU: one cpufreq policy for all cores (TX2/Xavier: per cluster under cpufreq/policy*)
    cpu = "sys/devices/system/cpu"
    _w(root, f"{cpu}/possible", f"0-{ncpu - 1}")
    for i in range(ncpu):
        if i:
            _w(root, f"{cpu}/cpu{i}/online", "1")
        else:
            (root / f"{cpu}/cpu0").mkdir(parents=True, exist_ok=True)
    governors = "interactive conservative userspace powersave ondemand performance schedutil"
    policies = ["policy0"] if board == "tx1" else (["policy0", "policy1"] if board == "tx2" else ["policy0", "policy2",
                                                                                                 "policy4", "policy6"])
    for pol in policies:
        base = f"{cpu}/cpufreq/{pol}" if board != "tx1" or l4t == 32 else f"{cpu}/cpu0/cpufreq"
        _w(root, f"{base}/scaling_available_frequencies", " ".join(map(str, cpu_khz)) + " ")
        _w(root, f"{base}/scaling_available_governors", governors)
        _w(root, f"{base}/scaling_governor", "schedutil" if l4t == 32 else "interactive")
        _w(root, f"{base}/scaling_setspeed", "<unsupported>")
        _w(root, f"{base}/scaling_min_freq", str(cpu_khz[0]))
        _w(root, f"{base}/scaling_max_freq", str(cpu_khz[-1]))
        _w(root, f"{base}/scaling_cur_freq", str(cpu_khz[-1]))
    if cpuquiet if cpuquiet is not None else board == "tx1":
        _w(root, f"{cpu}/cpuquiet/tegra_cpuquiet/enable", "1")
        _w(root, f"{cpu}/cpuquiet/current_governor", "balanced")

    # GPU
    if board == "tx1" and l4t == 28:
        if debugfs:
            khz = " ".join(str(f // 1000) for f in gpu_hz)
            _w(root, "sys/kernel/debug/clock/gbus/possible_rates", f"{khz} (kHz)")
            _w(root, "sys/kernel/debug/clock/gbus/rate", str(gpu_hz[-1]))
            _w(root, "sys/kernel/debug/clock/override.gbus/rate", "0")
            _w(root, "sys/kernel/debug/clock/override.gbus/state", "0")
    else:
        _w(root, f"{devfreq}/available_frequencies", " ".join(map(str, gpu_hz)))
        _w(root, f"{devfreq}/min_freq", str(gpu_hz[0]))
        _w(root, f"{devfreq}/max_freq", str(gpu_hz[-1]))
        _w(root, f"{devfreq}/cur_freq", str(gpu_hz[0]))
        _w(root, f"{devfreq}/governor", "nvhost_podgov")

    # EMC
    emc_list = " ".join(map(str, emc_khz)) + " (kHz)"
    if debugfs:
        if board == "tx1" and l4t == 28:
            _w(root, "sys/kernel/debug/clock/emc/possible_rates", emc_list)
            _w(root, "sys/kernel/debug/clock/emc/rate", str(emc_khz[-1] * 1000))
            _w(root, "sys/kernel/debug/clock/override.emc/rate", "0")
            _w(root, "sys/kernel/debug/clock/override.emc/state", "0")
        elif board == "tx1":
            _w(root, "sys/kernel/debug/clk/emc/clk_possible_rates", emc_list)
            _w(root, "sys/kernel/debug/clk/override.emc/clk_rate", str(emc_khz[-1] * 1000))
            _w(root, "sys/kernel/debug/clk/override.emc/clk_update_rate", "0")
            _w(root, "sys/kernel/debug/clk/override.emc/clk_state", "0")
        else:
            _w(root, "sys/kernel/debug/bpmp/debug/emc/possible_rates", emc_list)
            _w(root, "sys/kernel/debug/bpmp/debug/clk/emc/rate", str(emc_khz[-1] * 1000))
            _w(root, "sys/kernel/debug/bpmp/debug/clk/emc/mrq_rate_locked", "0")
            _w(root, "sys/kernel/debug/bpmp/debug/clk/emc/min_rate", str(emc_khz[0] * 1000))
            _w(root, "sys/kernel/debug/bpmp/debug/clk/emc/max_rate", str(emc_khz[-1] * 1000))

    # INA3221 power monitors (fixed simulated readings)
    for n, (dev, rails) in enumerate(ina.items()):
        if power == "iio":
            _write_rails(root, f"sys/bus/i2c/drivers/ina3221x/{dev}/iio:device{n}", rails)
        elif power == "iio_device":
            bus = dev.split("-")[0]
            ctrl = {"tx1": "platform/7000c400.i2c", "tx2": "3160000.i2c", "xavier": "3160000.i2c"}[board]
            real = f"sys/devices/{ctrl}/i2c-{bus}/{dev}"
            _write_rails(root, f"{real}/iio_device", rails)
            link = root / f"sys/bus/i2c/drivers/ina3221x/{dev}"
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(os.path.relpath(root / real, link.parent))
        elif power == "hwmon":
            base = f"sys/bus/i2c/drivers/ina3221/{dev}/hwmon/hwmon{n + 1}"
            for ch, (label, mw, mv) in enumerate(rails, start=1):
                _w(root, f"{base}/in{ch}_label", label)
                _w(root, f"{base}/in{ch}_input", str(mv))
                _w(root, f"{base}/curr{ch}_input", str(round(mw * 1000 / mv, 3)))
        elif power != "none":
            raise ValueError(f"unknown power style {power!r}; use iio, hwmon or none")
    return root


def _write_rails(root, folder: str, rails) -> None:
    """One INA3221's channels in ``folder``: rail name, power (mW), voltage (mV) and the current they imply."""
    for ch, (label, mw, mv) in enumerate(rails):
        _w(root, f"{folder}/rail_name_{ch}", label)
        _w(root, f"{folder}/in_power{ch}_input", str(mw))
        _w(root, f"{folder}/in_voltage{ch}_input", str(mv))
        _w(root, f"{folder}/in_current{ch}_input", str(round(mw * 1000 / mv)))


def set_rail_power(root: str | os.PathLike, label: str, mw: float) -> None:
    """Change the simulated reading of the rail labelled ``label`` to ``mw`` milliwatts."""
    root = Path(root)
    done = False
    iio = [*root.glob("sys/bus/i2c/drivers/ina3221x/*/iio:device*/rail_name_*"),
           *root.glob("sys/devices/**/iio_device/rail_name_*")]
    for name_file in iio:
        if name_file.read_text().strip() == label:
            ch = name_file.name.rsplit("_", 1)[-1]
            (name_file.parent / f"in_power{ch}_input").write_text(f"{mw:g}\n")
            done = True
    for label_file in root.glob("sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*/in*_label"):
        if label_file.read_text().strip() == label:
            ch = label_file.name[2:-len("_label")]
            mv = float((label_file.parent / f"in{ch}_input").read_text())
            (label_file.parent / f"curr{ch}_input").write_text(f"{mw * 1000 / mv:g}\n")
            done = True
    if not done:
        raise KeyError(f"no simulated rail labelled {label!r}")


#: Files a kernel recomputes itself and a plain file cannot: ``scaling_setspeed`` reads ``<unsupported>``
#: whenever the governor is not ``userspace``, so the platform never writes that text back.
KERNEL_VIEWS = ("scaling_setspeed",)


def snapshot(root: str | os.PathLike, include_views: bool = False) -> dict[str, str]:
    """Contents of every file of a tree (relative path -> text), to check that a run left it as found.

    Kernel views (:data:`KERNEL_VIEWS`) are left out unless ``include_views``: on a real board the kernel
    resets them when the governor is restored; a simulated tree keeps the last written text.
    """
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes().decode("ascii", "replace")
            for p in sorted(root.rglob("*"))
            if p.is_file() and (include_views or p.name not in KERNEL_VIEWS)}
