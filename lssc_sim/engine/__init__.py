"""The engine, in one room: the scenario schema and its Points (``scenario``), the executors that run them
(``runner``) and the results folder (``results``). It never knows which system a Point runs."""

from lssc_sim.engine.results import ResultStore, read_csv
from lssc_sim.engine.runner import RunSummary, run_scenario
from lssc_sim.engine.scenario import Point, Scenario, ScenarioError, load_scenario, scenario_from_dict

__all__ = [
    "Point",
    "ResultStore",
    "RunSummary",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "read_csv",
    "run_scenario",
    "scenario_from_dict",
]
