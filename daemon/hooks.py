"""Hooks (F9, F38): a user's command run on call events with the call as JSON on stdin.

A hook runs in the background; one that fails or hangs is logged and killed after
`hooks.timeout` seconds, and never blocks the daemon.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import shutil
import signal

from .states import ENDED, HELD, RINGING, TALKING

log = logging.getLogger("cc.hooks")
EVENTS = ("on_ring", "on_answer", "on_end", "on_wrapup_done")
NOTICES = {"on_ring": "Call from {who}", "on_end": "Call with {who} ended ({outcome})"}


class Hooks:
    def __init__(self, settings: dict):
        self.settings = settings
        self._running: set[asyncio.Task] = set()

    def fire(self, event: str, call: dict) -> None:
        command = self.settings.get(f"hooks.{event}") or ""
        if command:
            self._start(self._run(event, command, call))
        if event in NOTICES and self.settings.get("notify.desktop"):
            self._notify(event, call)

    def call_changed(self, call, old: int, new: int) -> None:
        """Hooks on ring, answer and end (F9, F38)."""
        if new in RINGING and old not in RINGING:
            self.fire("on_ring", call.view())
        elif new in TALKING and old not in TALKING and old not in HELD:
            self.fire("on_answer", call.view())
        elif call.ended and old not in ENDED:
            self.fire("on_end", call.view())

    def _start(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def _notify(self, event: str, call: dict) -> None:
        """F9: a desktop notice when a call rings or ends, where the machine has one."""
        notifier = shutil.which("notify-send")
        if notifier is None:
            return
        who = call.get("contact") or call.get("number") or "unknown number"
        text = NOTICES[event].format(who=who, outcome=call.get("outcome", ""))
        command = " ".join(shlex.quote(part) for part in (notifier, "--app-name=cc", "cc",
                                                          text))
        self._start(self._run(f"notice {event}", command, call))

    async def _run(self, event: str, command: str, call: dict) -> None:
        timeout = self.settings["hooks.timeout"]
        env = {**os.environ, "CC_EVENT": event, "CC_CALL_ID": str(call.get("call_id", "")),
               "CC_NUMBER": str(call.get("number", ""))}
        env.pop("CC_PASSWORD", None)     # a hook never sees the password
        try:
            proc = await asyncio.create_subprocess_shell(
                command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
        except OSError as exc:
            log.error("hook %s could not start: %s", event, exc)
            return
        payload = json.dumps({"event": event, "call": call}, ensure_ascii=False).encode()
        try:
            _, err = await asyncio.wait_for(proc.communicate(payload), timeout)
        except asyncio.TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            log.error("hook %s (%s) ran over %g s and was killed", event, command, timeout)
            return
        if proc.returncode:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
            log.error("hook %s (%s) failed with exit %s: %s", event, command,
                      proc.returncode, tail[0])

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
