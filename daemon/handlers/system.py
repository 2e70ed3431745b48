"""The daemon itself: ping, status, the feed of changes, settings, stop."""

from __future__ import annotations

import json
import os
import time
from typing import Annotated

from .. import profile
from .context import Context
from ..wire import ErrorCode, WireError
from .registry import UNBOUNDED, Length, Range, command


@command("ping", "Whether the daemon answers: its pid and uptime.")
async def ping(ctx: Context) -> dict:
    return {"pid": os.getpid(), "uptime": round(time.time() - ctx.started, 1)}


@command("status", "The session, the agent's state, the active calls and the feed's number.")
async def status(ctx: Context) -> dict:
    return {**ctx.session.view(), "calls": [c.view() for c in ctx.tracker.active()],
            "pid": os.getpid(), **ctx.store.waiting(), "store_notice": ctx.store.notice,
            "task_failures": ctx.supervisor.failures(),
            "seq": ctx.feed.seq, "events": ctx.events_view(),
            **({"team": ctx.team.view()} if ctx.team is not None else {}),
            **({"retention": kept} if (kept := ctx.retention.view()) else {}),
            **({"contacts_sync": ctx.contacts.sync.view()} if ctx.contacts.sync else {}),
            **({"test_clock": "manual"} if ctx.session.clock.manual else {})}


@command("events_since", "The published changes after SEQ still kept; complete is false "
                         "when some are gone.")
async def events_since(ctx: Context, seq: Annotated[int, Range(0, UNBOUNDED)]) -> dict:
    return ctx.feed.since(seq)


@command("clock_advance", "Tests only: move the daemon's manual clock (CC_TEST_CLOCK=manual) "
                          "on by SECONDS, firing the timers that fall due.")
async def clock_advance(ctx: Context, seconds: Annotated[float, Range(0.001, 7 * 86400)]
                        ) -> dict:
    clock = ctx.session.clock
    if not clock.manual:
        raise WireError(ErrorCode.STATE_FORBIDS, "the daemon's clock is the wall clock: only a "
                        "daemon started with CC_TEST_CLOCK=manual (for tests) can be advanced")
    fired = await clock.advance(seconds)
    return {"now": clock.time(), "fired": fired}


@command("fail_task", "Tests only (a daemon on a manual clock): make the background task "
                      "NAME fail now, as a bug would, to see it restarted and reported.")
async def fail_task(ctx: Context, name: Annotated[str, Length(1, 40)]) -> dict:
    if not ctx.session.clock.manual:
        raise WireError(ErrorCode.STATE_FORBIDS, "only a daemon started for tests "
                        "(CC_TEST_CLOCK=manual) can be made to fail")
    if not ctx.supervisor.fail(name):
        raise WireError(ErrorCode.BAD_INPUT, f"no background task '{name}' runs now (running: "
                        f"{', '.join(ctx.supervisor.names()) or 'none'})")
    return {"failed": name}


@command("reload", "Read the settings file again: changes the running daemon can take apply "
                   "at once (now) or at its next log-on (login); the rest need a restart.")
async def reload(ctx: Context) -> dict:
    try:
        fresh = profile.load(ctx.paths.config_file)
    except profile.ConfigError as exc:
        raise WireError(ErrorCode.CONFIG, str(exc)) from None
    return {**ctx.take_settings(fresh), "break_reasons": list(ctx.session.states.reasons)}


@command("shutdown", "Stop the daemon (log off first when session.logout_on_stop); calls the "
                     "call log cannot take yet wait in the spool for the next start. Refused "
                     "while some are kept nowhere but in memory, unless FORCE. With RESTART, "
                     "stay logged on and leave the agent's state to the next daemon.")
async def shutdown(ctx: Context, force: bool = False, restart: bool = False) -> dict:
    ctx.store.flush()
    waiting = ctx.store.waiting()
    only_here = waiting["waiting_calls"] - waiting["spooled_calls"]
    if only_here and not force:
        raise WireError(ErrorCode.STATE_FORBIDS, f"{only_here} call(s) are kept only in memory: "
                        f"neither the call log nor {waiting['spool']} can be written "
                        f"({waiting['store_error']}); free some space and stop again, or "
                        "`cc daemon stop --force` loses them")
    if restart:
        _hand_over(ctx)
    ctx.stop()
    return {"pid": os.getpid(), "stopping": True, **waiting}


def _hand_over(ctx: Context) -> None:
    """Leave the agent's state for the daemon `cc daemon restart` starts next."""
    path = ctx.paths.handover
    given = json.dumps(ctx.session.handover())
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(given, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise WireError(ErrorCode.FAILED, f"cannot keep the agent's state for the restart in "
                        f"{path}: {exc.strerror or exc}; nothing was stopped") from None
    ctx.session.restarting = True
