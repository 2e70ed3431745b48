"""Hooks (F9, F38): a user's command run on call events with the call and its card as JSON
on stdin (and the card's fields in the environment).

A hook runs in the background; one that fails or hangs is logged and killed after
`hooks.timeout` seconds, and never blocks the daemon. At most MAX_RUNNING run at once and
MAX_WAITING wait their turn; one more is dropped with a log line, so a storm of calls
cannot fork without bound.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import shlex
import shutil
import signal
from typing import Any, Callable

from .states import ENDED, HELD, RINGING, TALKING

log = logging.getLogger("cc.hooks")
EVENTS = ("on_ring", "on_answer", "on_end", "on_wrapup_done", "on_reminder")
NOTICES = {"on_ring": "Call from {who}", "on_end": "Call with {who} ended ({outcome})"}
MAX_RUNNING = 4
MAX_WAITING = 64


class Hooks:
    def __init__(self, settings: dict, card: Callable[[Any], dict]):
        """`card(call)`: the call's card as its record holds it (see `store.card_of`)."""
        self.settings = settings
        self.card = card
        self._running: set[asyncio.Task] = set()
        self._waiting: collections.deque = collections.deque()   # (event, command, payload)

    def fire(self, event: str, call) -> None:
        """Run the hook for `event` (and the desktop notice) on the tracked `call`."""
        command = self.settings.get(f"hooks.{event}") or ""
        notice = event in NOTICES and self.settings.get("notify.desktop")
        if not command and not notice:
            return
        payload = {"event": event, "call": call.view(), "card": self.card(call)}
        if command:
            self._start(event, command, payload)
        if notice:
            self._notify(event, payload)

    def reminder(self, reminder: dict) -> None:
        """A reminder fell due (daemon/reminders.py): `hooks.on_reminder` with the reminder
        as JSON on stdin and its fields in the environment, and a desktop notice."""
        command = self.settings.get("hooks.on_reminder") or ""
        payload = {"event": "on_reminder", "reminder": reminder}
        if command:
            self._start("on_reminder", command, payload)
        if self.settings.get("notify.desktop"):
            self._notify("on_reminder", payload)

    def call_changed(self, call, old: int, new: int) -> None:
        """Hooks on ring, answer and end (F9, F38)."""
        if new in RINGING and old not in RINGING:
            self.fire("on_ring", call)
        elif new in TALKING and old not in TALKING and old not in HELD:
            self.fire("on_answer", call)
        elif call.ended and old not in ENDED:
            self.fire("on_end", call)

    def _start(self, event: str, command: str, payload: dict) -> None:
        if len(self._running) < MAX_RUNNING:
            self._launch((event, command, payload))
        elif len(self._waiting) < MAX_WAITING:
            self._waiting.append((event, command, payload))
        else:
            log.warning("hook %s for call %s dropped: %d hooks run and %d wait already",
                        event, (payload.get("call") or payload["reminder"])["call_id"],
                        MAX_RUNNING, MAX_WAITING)

    def _launch(self, job: tuple) -> None:
        task = asyncio.get_running_loop().create_task(self._run(*job))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("a hook failed", exc_info=task.exception())
        if self._waiting:
            self._launch(self._waiting.popleft())

    def _notify(self, event: str, payload: dict) -> None:
        """F9: a desktop notice when a call rings or ends, where the machine has one."""
        notifier = shutil.which("notify-send")
        if notifier is None:
            return
        if event == "on_reminder":
            text = reminder_notice(payload["reminder"])
        else:
            call = payload["call"]
            who = call.get("contact") or call.get("number") or "unknown number"
            text = NOTICES[event].format(who=who, outcome=call.get("outcome", ""))
        command = " ".join(shlex.quote(part) for part in (notifier, "--app-name=cc", "cc",
                                                          text))
        self._start(f"notice {event}", command, payload)

    async def _run(self, event: str, command: str, payload: dict) -> None:
        timeout = self.settings["hooks.timeout"]
        env = {**os.environ, **environment(event, payload)}
        env.pop("CC_PASSWORD", None)     # a hook never sees the password
        try:
            proc = await asyncio.create_subprocess_shell(
                command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
        except OSError as exc:
            log.error("hook %s could not start: %s", event, exc)
            return
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            _, err = await asyncio.wait_for(proc.communicate(body), timeout)
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
        self._waiting.clear()
        for task in list(self._running):
            task.cancel()


def environment(event: str, payload: dict) -> dict[str, str]:
    """The call's and its card's fields a hook finds in its environment: CC_EVENT,
    CC_CALL_ID, CC_NUMBER, CC_COUNTER_NUMBER, CC_SUBJECT, ..., CC_LINK_TASK, ... (the
    notes, several lines long, only on stdin). A reminder's: CC_REMINDER_ID,
    CC_REMINDER_TEXT, CC_DUE_AT, CC_LOG_ID, CC_CALL_ID, CC_NUMBER, CC_CONTACT, ...."""
    if "reminder" in payload:
        reminder = payload["reminder"]
        env = {"CC_EVENT": event, "CC_REMINDER_ID": reminder["id"],
               "CC_REMINDER_TEXT": reminder["text"]}
        env.update({f"CC_{name.upper()}": value for name, value in reminder.items()
                    if name not in ("id", "text", "fired") and value is not None})
        return {name: str(value).replace("\0", "") for name, value in env.items()}
    call, card = payload["call"], payload["card"]
    env = {"CC_EVENT": event, "CC_CALL_ID": call["call_id"], "CC_NUMBER": call["number"]}
    env.update({f"CC_{name.upper()}": value for name, value in card.items()
                if name not in ("links", "notes")})
    env.update({f"CC_LINK_{kind.upper()}": value for kind, value in card["links"].items()})
    # The environment cannot carry a NUL; the JSON on stdin keeps the value whole.
    return {name: str(value).replace("\0", "") for name, value in env.items()}


def reminder_notice(reminder: dict) -> str:
    """A reminder's desktop notice: its text, and the call it is about."""
    who = reminder["contact"] or reminder["number"] or "unknown number"
    about = f"{reminder['counter_number']} with {who}"
    return f"Reminder: {reminder['text']} ({about})" if reminder["text"] else \
        f"Reminder: call {about}"
