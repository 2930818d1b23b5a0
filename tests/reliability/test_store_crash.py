"""SIGKILL during a campaign: the store always opens and nothing reported done is lost.

The default run kills a FAKE campaign (real ``run_campaign`` and store, synthetic rows from a fake runner)
6 times at aimed points of a job's store write (the campaign pauses there, announces it and waits for the
kill, so the test does not depend on timing or load); the slow tests kill the fake one 60 times aimed and
60 times at random moments, and the real ``perfmodel profile`` CLI (TensorFlow workers on tiny built-in
networks) 50 times at random moments. Run them with ``pytest -m slow tests/reliability``.
"""

from __future__ import annotations

import os

import pytest
from _harness import aimed_fake_kill_loop, fake_kill_loop, real_kill_loop


def _assert_nothing_lost(stats) -> None:
    assert stats.open_failures == []
    assert stats.jobs_lost == 0, "a job reported done was missing after a kill"
    assert stats.rows_bad == 0, "a stored job had missing or duplicated rows"
    assert stats.orphans == 0, "a worker outlived its killed campaign"
    assert stats.final_equal, "the resumed campaign differs from an uninterrupted run"


def test_fake_campaign_survives_sigkill(tmp_path):
    """Kills aimed at each point of a job's store write (the campaign pauses there and announces it), so every
    run kills inside the transaction however busy the machine: no timing."""
    stats = aimed_fake_kill_loop(str(tmp_path), kills=6, networks=2, seed=1)
    assert stats.kills == 6
    assert stats.kills_mid_run == 6, "every kill lands after some jobs were stored, while the campaign runs"
    assert stats.kills_in_write == 5, "5 kills inside a job's store transaction (begin, job row, rows, commit)"
    assert stats.kills_after_commit == 1
    assert stats.partial_visible == 0, "a job killed inside its transaction was partly or wholly stored"
    assert stats.committed_missing == 0, "a job killed after its COMMIT was lost"
    assert stats.final_rows > 1000
    _assert_nothing_lost(stats)


@pytest.mark.slow
def test_fake_campaign_survives_many_sigkills(tmp_path):
    stats = aimed_fake_kill_loop(str(tmp_path), kills=60, networks=4, seed=2)
    assert stats.kills_in_write == 48 and stats.kills_after_commit == 12
    _assert_nothing_lost(stats)
    stats = fake_kill_loop(str(tmp_path / "random"), kills=60, networks=4, max_delay_s=0.15, seed=2)
    _assert_nothing_lost(stats)


@pytest.mark.slow
@pytest.mark.tf
def test_real_profile_cli_survives_50_sigkills(tmp_path):
    configs = ["threads=1,batch=1", "threads=1,batch=2", "threads=2,batch=1"]
    if len(os.sched_getaffinity(0)) < 2:
        configs = ["threads=1,batch=1", "threads=1,batch=2", "threads=1,batch=4"]
    stats = real_kill_loop(str(tmp_path), kills=50, configs=configs, seed=3)
    assert stats.kills == 50
    assert stats.kills_mid_run >= 1
    _assert_nothing_lost(stats)
