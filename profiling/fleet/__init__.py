"""Campaigns on a fleet of boards through Dask distributed, into one shared store.

Each board runs a ``dask worker`` tagged with a resource naming its platform (``--resources "jetson=1"``);
:func:`run_fleet_campaign` sends every job of a campaign to a worker holding that resource, one job per board
at a time, and the worker measures the job through the one pipeline (:func:`profiling.campaign.measure_and_store`)
and stores it itself. See ``docs/fleet.md``.
"""

from .engine import (BOARD_ENV, FleetError, FleetJob, FleetMeasurer, board_status, connect, run_fleet_campaign,
                     run_on_board, workers_offering)

__all__ = ["BOARD_ENV", "FleetError", "FleetJob", "FleetMeasurer", "board_status", "connect", "run_fleet_campaign",
           "run_on_board", "workers_offering"]
