"""Reference emulator of the Infinity HTTP integration module (docs/infinity.md).

The daemon is tested against this emulator, so it follows the protocol strictly rather
than being easy on clients. This module stays light: aiohttp is imported only by
`run`, so the CLI can import it cheaply.
"""

from __future__ import annotations

from .scenario import ScenarioError

__all__ = ["OptionError", "ScenarioError", "demo_scenario_text", "run"]


class OptionError(ValueError):
    """run's options are out of range or do not go together. The message is one line."""


def demo_scenario_text() -> str:
    """The built-in demo scenario (TOML), every key commented."""
    from .scenario import demo_text

    return demo_text()


def run(
    host: str = "127.0.0.1",
    port: int = 10080,
    scenario: str | None = None,
    time_scale: float | None = None,
    port_file: str | None = None,
    manual_clock: bool = False,
    replay: str | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM. port=0 picks a free port; once listening, the
    actual port is written to port_file (if given) and one line is printed. A manual
    clock (manual_clock, or the scenario's [server] clock) moves only when advanced.

    With `replay` (a journal) the journal plays the server (replay.py says how); time
    runs at time_scale (default 1) or on the manual clock.

    Raises ScenarioError for a missing or invalid scenario, OptionError for a bad
    time_scale or one given with a manual clock, or a journal that cannot be replayed,
    OSError when the address cannot be bound.
    """
    import asyncio
    import dataclasses
    import math

    from . import scenario as scenario_mod
    from .server import serve

    if time_scale is not None and not (time_scale > 0 and math.isfinite(time_scale)):
        raise OptionError(f"time scale {time_scale!r} must be a number greater than 0")
    if replay is not None:
        replayer = _replayer(replay, scenario, time_scale, manual_clock)
        try:
            asyncio.run(serve(None, host, port, time_scale, port_file, replayer))
        except KeyboardInterrupt:
            pass
        return
    loaded = scenario_mod.load(scenario)
    if manual_clock:
        loaded = dataclasses.replace(loaded, clock=scenario_mod.MANUAL)
    if loaded.clock == scenario_mod.MANUAL and time_scale is not None:
        if manual_clock:
            raise OptionError("--time-scale and --manual-clock do not go together: a manual clock "
                              "moves only when advanced (drop one of them)")
        raise OptionError(f'--time-scale does not apply: scenario {loaded.source} sets [server] clock = '
                          '"manual" (drop --time-scale, or write clock = "scaled")')
    try:
        asyncio.run(serve(loaded, host, port, time_scale, port_file))
    except KeyboardInterrupt:
        pass


def _replayer(journal: str, scenario: str | None, time_scale: float | None,
              manual_clock: bool):
    from pathlib import Path

    from .replay import Replay, ReplayError
    from .replay_server import Replayer
    from .scenario import MANUAL, SCALED

    if scenario is not None:
        raise OptionError("--replay and --scenario do not go together: the journal plays the "
                          "server (drop --scenario)")
    if manual_clock and time_scale is not None:
        raise OptionError("--time-scale and --manual-clock do not go together: a manual clock "
                          "moves only when advanced (drop one of them)")
    try:
        replay = Replay(Path(journal))
    except ReplayError as exc:
        raise OptionError(str(exc)) from None
    return Replayer(replay, MANUAL if manual_clock else SCALED,
                    time_scale if time_scale is not None else 1.0)
