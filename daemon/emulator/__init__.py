"""Reference emulator of the Infinity HTTP integration module (docs/infinity.md).

The daemon is tested against this emulator, so it follows the protocol strictly rather
than being easy on clients. This module stays light: aiohttp is imported only by
`run`, so the CLI can import it cheaply.
"""

from __future__ import annotations

from .scenario import ScenarioError

__all__ = ["ScenarioError", "demo_scenario_text", "run"]


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
) -> None:
    """Serve until SIGINT or SIGTERM. port=0 picks a free port; once listening, the
    actual port is written to port_file (if given) and one line is printed.

    Raises ScenarioError for a missing or invalid scenario, ValueError for a bad
    time_scale, OSError when the address cannot be bound.
    """
    import asyncio

    from . import scenario as scenario_mod
    from .server import serve

    if time_scale is not None and not time_scale > 0:
        raise ValueError(f"time scale {time_scale!r} must be greater than 0")
    loaded = scenario_mod.load(scenario)
    try:
        asyncio.run(serve(loaded, host, port, time_scale, port_file))
    except KeyboardInterrupt:
        pass
