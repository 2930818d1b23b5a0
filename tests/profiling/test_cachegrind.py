"""The cachegrind memory-access proxy (PowerML, Eq. 2.1)."""

import shutil

import pytest

from profiling.errors import SensorUnavailable
from profiling.sensors.base import PowerSensor
from profiling.sensors.cachegrind import CacheCounts, CacheLatencies, CachegrindSensor, parse_cachegrind_summary

SUMMARY = """\
==7043== I   refs:      434,303,087
==7043== I1  misses:      1,836,580
==7043== LLi misses:         25,937
==7043== I1  miss rate:        0.42%
==7043== D   refs:      187,156,486  (126,726,004 rd   + 60,430,482 wr)
==7043== D1  misses:      4,460,197  (  3,984,534 rd   +    475,663 wr)
==7043== LLd misses:        301,632  (    102,652 rd   +    198,980 wr)
==7043== LL refs:         6,296,777  (  5,821,114 rd   +    475,663 wr)
==7043== LL misses:         327,569  (    128,589 rd   +    198,980 wr)
"""


def test_parse_summary_and_cost_formula():
    c = parse_cachegrind_summary(SUMMARY)
    assert c.i_refs == 434_303_087 and c.d1_misses == 4_460_197 and c.ll_misses == 327_569
    assert c.l1_hits == 434_303_087 + 187_156_486 - 1_836_580 - 4_460_197
    assert c.ll_hits == 6_296_777 - 327_569
    lat = CacheLatencies(l1_cycles=1, ll_cycles=10, memory_cycles=100)
    assert c.memory_access_cycles(lat) == c.l1_hits + 10 * c.ll_hits + 100 * c.ll_misses
    zero = c - c
    assert zero.memory_access_cycles() == 0


def test_missing_lines_are_an_error():
    with pytest.raises(SensorUnavailable, match="ll_misses"):
        parse_cachegrind_summary(SUMMARY.rsplit("\n", 2)[0])


def test_sensor_is_a_labelled_proxy_without_power_readings():
    s = CachegrindSensor(valgrind="definitely-not-valgrind")
    assert isinstance(s, PowerSensor) and s.proxy is True
    ok, why = s.availability()
    assert not ok and "not installed" in why
    with pytest.raises(SensorUnavailable):
        s.read_power_w()
    with pytest.raises(SensorUnavailable):
        s.measure(["/bin/true"])


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_more_work_costs_more_cycles():
    s = CachegrindSensor()
    small = s.measure(["/bin/true"], timeout_s=120)
    big = s.measure(["/usr/bin/seq", "20000"], timeout_s=120)
    assert isinstance(small, CacheCounts) and small.i_refs > 0
    assert s.cycles(big) > s.cycles(small)
