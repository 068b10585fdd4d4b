"""Guided lessons for the Learn tab: simulated users (core Sessions in this process) act
out Socket.IO ideas against a server, step by step, and each lesson checks its own end
state from the data. Qt-free: the UI only shows a `ScenarioRun`.

    from app.scenarios import SCENARIOS, ScenarioRun
    run = ScenarioRun(SCENARIOS[4](), url, data_dir, pace=0.8)
    run.step_changed.connect(...); run.packet.connect(...)
    end = await run.run()      # EndState(ok, headline, details, facts)
    await run.close()
"""

from __future__ import annotations

from app.scenarios.acks import AcksScenario
from app.scenarios.broadcast import BroadcastScenario
from app.scenarios.captions import packet_caption
from app.scenarios.channels import ChannelsScenario
from app.scenarios.emit import EmitScenario
from app.scenarios.engine import (
    EndState,
    Note,
    RunState,
    Scenario,
    ScenarioError,
    ScenarioRun,
    Step,
)
from app.scenarios.engineio import EngineIOScenario
from app.scenarios.missed import MissedEventScenario
from app.scenarios.redis_adapter import RedisAdapterScenario
from app.scenarios.workqueue import WorkQueueScenario

#: The lessons in teaching order.
SCENARIOS: tuple[type[Scenario], ...] = (EmitScenario, BroadcastScenario, ChannelsScenario,
                                         AcksScenario, MissedEventScenario, WorkQueueScenario,
                                         RedisAdapterScenario, EngineIOScenario)


def by_key(key: str) -> type[Scenario]:
    """A lesson by its key ("emit", "broadcast", ...); KeyError if there is none."""
    for cls in SCENARIOS:
        if cls.key == key:
            return cls
    raise KeyError(key)


__all__ = ["SCENARIOS", "AcksScenario", "BroadcastScenario", "ChannelsScenario",
           "EmitScenario", "EndState", "EngineIOScenario", "MissedEventScenario", "Note",
           "RedisAdapterScenario", "RunState", "Scenario", "ScenarioError", "ScenarioRun",
           "Step", "WorkQueueScenario", "by_key", "packet_caption"]
