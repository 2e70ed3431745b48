"""The Infinity session: log-on, the agent's state, polling, reconnect with backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time

from .calls import CallTracker
from .clock import WallClock
from .infinity import BadResponse, InfinityClient, InfinityError, Unreachable
from .poller import Poller
from .profile import ConfigError, resolve_password
from .states import SETTABLE, StateMap
from .supervisor import Supervisor
from .wire import ErrorCode, SessionStatus, WireError
from .wrapup import AfterCall

log = logging.getLogger("cc.session")

LOGGED_OUT, LOGGING_IN, LOGGED_IN, RECONNECTING, DISCONNECTED = SessionStatus
RESTART_INTERVAL = 60.0     # seconds (the daemon's clock) between two restarts on request
HANDOVER_KEPT = 600.0       # real seconds a restarted daemon's state is good for its successor
HANDOVER_FIELDS = {"login": str, "written_at": (int, float), "wanted_state": (int, type(None)),
                   "state_reason": (str, type(None)), "state_left": (int, float, type(None)),
                   "pending": (list, type(None)), "wrapup": (dict, type(None))}


class Session:
    def __init__(self, settings: dict, client: InfinityClient, tracker: CallTracker,
                 publish, events_url: str | None = None, clock: WallClock | None = None,
                 supervisor: Supervisor | None = None):
        self.settings = settings
        self.clock = clock or WallClock()      # the timers': away --for, reconnect backoff
        self.supervisor = supervisor or Supervisor(self.clock.sleep, self.clock.time)
        self.client = client
        self.tracker = tracker
        self.publish = publish
        self.events_url = events_url
        self.status = LOGGED_OUT
        self.id_user: int | None = None
        self.extension = ""
        self.states = StateMap(settings)
        self.agent_state: int | None = None
        self.wanted_state: int | None = None   # what the agent chose; restored after reconnect
        self.last_error: str | None = None
        self.logged_in_at: float | None = None     # the daemon's clock, at the last log-on
        self.logon_error: ErrorCode | None = None   # why the last log-on failed, until one works
        self.next_try_at: float | None = None
        self._password: str | None = None
        self._tasks: set[asyncio.Task] = set()
        self._settled = asyncio.Event()
        self._settled.set()
        self.state_reason: str | None = None
        self.state_until: float | None = None
        self._return_timer: asyncio.Task | None = None
        self._restarted_at = float("-inf")     # the last restart the server asked for
        self._restarts_ignored = 0
        self.after_call = AfterCall(self)
        self.restarting = False     # stopping for `cc daemon restart`: stay logged on
        self.poller = Poller(self)
        tracker.on_ended = self.call_ended

    @property
    def logged_in(self) -> bool:
        return self.status == LOGGED_IN

    @property
    def wrapup_call(self):
        """The call in wrap-up, if any."""
        return self.after_call.call

    # -- what the CLI sees
    def view(self) -> dict:
        view = {"session": self.status, "login": self.settings["server.login"],
                "id_user": self.id_user, "extension": self.extension,
                "agent_state": self.states.view(self.agent_state if self.status == LOGGED_IN
                                                else self.states.id("offline")),
                "server": self.client.base, "events_url": self.events_url,
                "last_error": self.last_error}
        if self.logon_error:
            view["logon_error"] = self.logon_error
        # A break's reason and end belong to the break, not to the Busy a call shows over it.
        chosen_shows = self.agent_state == self.wanted_state
        if self.state_reason and chosen_shows:
            view["state_reason"] = self.state_reason
        if self.state_until and chosen_shows:
            view["state_until"] = self.state_until
        view.update(self.after_call.view())
        if self.status == RECONNECTING and self.next_try_at:
            view["next_try_in"] = max(0.0, round(self.next_try_at - self.clock.time(), 1))
        return view

    async def ready(self) -> int:
        """The agent's IDUser once logged in; waits for a log-on in progress."""
        if not self._settled.is_set():
            try:
                await asyncio.wait_for(self._settled.wait(), self.settings["server.timeout"] * 2)
            except asyncio.TimeoutError:
                pass
        return self.require_login()

    def require_login(self) -> int:
        if self.status == LOGGING_IN:
            raise WireError(ErrorCode.SERVER,
                            "still logging in to the server; try again in a moment")
        if self.status == RECONNECTING:
            wait = self.view().get("next_try_in", 0)
            raise WireError(ErrorCode.SERVER,
                            f"reconnecting to the server, next try in {wait:.0f} s "
                            f"({self.last_error})")
        if self.status == DISCONNECTED:
            raise WireError(ErrorCode.NOT_LOGGED_IN, f"disconnected from the server "
                            f"({self.last_error}) and session.reconnect is off: log in again "
                            "with `cc login`")
        if self.status != LOGGED_IN or self.id_user is None:
            raise WireError(ErrorCode.NOT_LOGGED_IN, "not logged in (run `cc login`)")
        return self.id_user

    # -- log-on and log-off
    async def login(self, password: str | None = None) -> dict:
        was = self.status
        self.status = LOGGING_IN
        self._settled.clear()
        try:
            return await self._login(password)
        except WireError as exc:
            self.logon_error = exc.code
            raise
        finally:
            if self.status == LOGGING_IN:
                self.status = was if was != LOGGED_IN else LOGGED_OUT
            self._settled.set()

    async def _login(self, password: str | None) -> dict:
        login = self.settings["server.login"]
        if not login:
            raise WireError(ErrorCode.CONFIG,
                            "no user name: set it with `cc config set server.login "
                            "NAME`; nothing was sent to the server")
        if password is None and self._password is None:
            try:
                self._password = resolve_password(self.settings)
            except ConfigError as exc:
                raise WireError(ErrorCode.CONFIG, str(exc)) from None
        elif password is not None:
            self._password = password
        hostname = self.settings["server.hostname"] or socket.gethostname()
        try:
            self.id_user, self.extension = await self.client.logon(
                login, self._password, self.settings["server.role_id"], hostname)
        except Unreachable as exc:
            self.last_error = str(exc)
            raise WireError(ErrorCode.SERVER, str(exc)) from None
        except BadResponse as exc:
            self.last_error = str(exc)
            raise WireError(ErrorCode.SERVER, str(exc)) from None
        except InfinityError as exc:
            if exc.status is not None and exc.status >= 500:
                # The server failed, it did not judge the password: keep it and try again.
                self.last_error = f"the server failed the log-on: {exc}"
                raise WireError(ErrorCode.SERVER, f"{self.last_error}; the daemon tries "
                                "again (see `cc status`)") from None
            self._password = None
            self.last_error = f"log-on refused: {exc}"
            code = f" (LogonResult {exc.logon_result})" if exc.logon_result else ""
            raise WireError(ErrorCode.AUTH, f"log-on refused by the server: {exc}{code}; check "
                            "server.login and the password") from None
        self.status = LOGGED_IN
        self.logged_in_at = self.clock.time()
        self.last_error = self.logon_error = None
        self.tracker.agent, self.tracker.extension = login, self.extension
        log.info("logged in as %s (IDUser %s, extension %s)", login, self.id_user,
                 self.extension)
        try:
            await self.refresh_state()
            # Only a server that forgot the agent shows the log-on's Available; one that
            # kept them shows their state, or the Busy of a call still up: leave that be.
            available = self.states.id("available")
            if self.wanted_state not in (None, available) and self.agent_state == available:
                await self.client.set_state(self.id_user, self.wanted_state)
                await self.refresh_state()
            busy = self.states.id("busy")
            if self.after_call.call is not None and self.agent_state != busy:
                await self.client.set_state(self.id_user, busy)     # wrap-up goes on
                await self.refresh_state()
            if self.state_until and self._return_timer is None and self.wanted_state:
                # A state chosen `--for` a while goes on timing after a restart.
                self._return_timer = asyncio.create_task(self._back_after(
                    max(0.0, self.state_until - self.clock.time()), self.wanted_state))
            await self.poller.once()
        except InfinityError as exc:
            self.status = LOGGED_OUT
            self.last_error = str(exc)
            raise WireError(ErrorCode.SERVER,
                            f"logged on, but the server then failed: {exc}") from None
        self.poller.start()
        self.publish("session", self.view())
        return self.view()

    # -- `cc daemon restart`: the agent's state handed to the next daemon
    def handover(self) -> dict:
        """What a reconnect keeps, for the daemon that starts next: the state the agent
        chose (with its reason and time left), a state asked for after the call, wrap-up."""
        now = self.clock.time()
        return {"login": self.settings["server.login"], "written_at": time.time(),
                "wanted_state": self.wanted_state, "state_reason": self.state_reason,
                "state_left": self.state_until - now if self.state_until else None,
                "pending": self.after_call.pending, "wrapup": self.after_call.handover()}

    def take_handover(self, given: dict) -> None:
        """The state a restarted daemon left: restored at log-on as after a reconnect."""
        for key, kinds in HANDOVER_FIELDS.items():
            if not isinstance(given.get(key), kinds) or isinstance(given.get(key), bool):
                raise ValueError(f"{key} is {given.get(key)!r}")
        if given.get("login") != self.settings["server.login"] or \
                not 0 <= time.time() - given.get("written_at", 0) < HANDOVER_KEPT:
            log.info("ignored the state left by the daemon before (another login, or old)")
            return
        # The time between the two daemons counts (a test's manual clock stood still).
        gone = 0.0 if self.clock.manual else max(0.0, time.time() - given["written_at"])
        self.wanted_state, self.state_reason = given["wanted_state"], given["state_reason"]
        if given["state_left"] is not None:
            self.state_until = self.clock.time() + max(0.0, given["state_left"] - gone)
        self.after_call.pending = tuple(given["pending"]) if given["pending"] else None
        if given["wrapup"]:
            self.after_call.resume(given["wrapup"], gone)
        log.info("took over the agent's state from the daemon before the restart")

    def forget_password(self) -> None:
        """The password's source changed: read it again at the next log-on."""
        self._password = None

    async def auto_login(self) -> None:
        """log in at start; a server that cannot be reached is retried."""
        try:
            await self.login()
        except WireError as exc:
            log.error("automatic log-in failed: %s", exc.message)
            self.last_error = exc.message
            if exc.code == ErrorCode.SERVER and self.settings["session.reconnect"]:
                self.lost(exc.message)

    async def logout(self) -> dict:
        id_user = await self.ready()
        try:
            await self.client.logoff(id_user)
        except InfinityError as exc:
            raise WireError(ErrorCode.SERVER, f"log-off failed: {exc}") from None
        self._stop_tasks()
        self.status, self.wanted_state = LOGGED_OUT, None
        self.agent_state = self.states.id("offline")
        self.publish("session", self.view())
        return self.view()

    async def set_state(self, name: str, reason: str | None = None, other: str | None = None,
                        for_seconds: float | None = None, after_call: bool = False) -> dict:
        id_user = await self.ready()
        if name not in SETTABLE:
            raise WireError(ErrorCode.BAD_INPUT, f"unknown state '{name}': choose "
                            f"{', '.join(SETTABLE)}")
        code = self.states.id(name)
        if name == "break" and not (reason or other):
            raise WireError(ErrorCode.BAD_INPUT, "a break needs a reason: `cc break REASON` "
                            f"({', '.join(self.states.reasons) or 'no regulated reasons set'}) "
                            "or `cc break --other TEXT`")
        if name == "break" and reason:
            reasons = self.states.reasons
            if reason not in reasons:
                raise WireError(ErrorCode.BAD_INPUT, f"'{reason}' is not a break reason (reasons: "
                                f"{', '.join(reasons)}; or --other TEXT)")
            code = reasons[reason]
        if after_call and (self.tracker.active() or self.wrapup_call is not None):
            self.after_call.pending = (name, reason, other, for_seconds)
            self.publish("session", self.view())
            return self.view()
        try:
            await self.client.set_state(id_user, code)
        except InfinityError as exc:
            raise WireError(ErrorCode.SERVER,
                            f"the server refused the state change: {exc}") from None
        self.wanted_state, self.after_call.pending = code, None
        self.state_reason = (reason or other) if name == "break" else None
        self.state_until = self.clock.time() + for_seconds if for_seconds else None
        if self._return_timer:
            self._return_timer.cancel()
            self._return_timer = None
        if for_seconds:
            self._return_timer = asyncio.create_task(self._back_after(for_seconds, code))
        await self.refresh_state()
        return self.view()

    async def _back_after(self, seconds: float, code: int) -> None:
        await self.clock.sleep(seconds)
        self._return_timer = None
        if self.status == LOGGED_IN and self.wanted_state == code:
            try:
                await self.set_state("available")
            except WireError as exc:
                log.warning("could not return to Available: %s", exc.message)

    def call_ended(self, call) -> None:
        """After a call: the server's figures; then wrap-up or a state asked for."""
        self.background(self.poller.figures(call))
        self.after_call.call_ended(call, self.logged_in)

    def background(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def finish_wrapup(self) -> dict:
        return await self.after_call.finish()

    async def refresh_state(self) -> None:
        code = await self.client.get_state(self.id_user)
        self.state_changed(code)

    def state_changed(self, code: int) -> None:
        if code != self.agent_state:
            self.agent_state = code
            log.info("agent state: %s", self.states.view(code)["title"])
            self.publish("agent_state", self.states.view(code))

    def _stop_tasks(self) -> None:
        self.poller.stop()
        self.supervisor.stop("reconnect")
        if self._return_timer and not self._return_timer.done():
            self._return_timer.cancel()
        self._return_timer = None

    # -- reconnect
    def restart_requested(self, reason: str) -> None:
        """the server asks its clients to restart: log on afresh (with
        session.reconnect), keeping the agent's state. At most once a minute: anyone who
        reaches the event listener can ask, and each fresh log-on interrupts the agent."""
        if self.status != LOGGED_IN:
            return
        now = self.clock.time()
        if now - self._restarted_at < RESTART_INTERVAL:
            self._restarts_ignored += 1
            if self._restarts_ignored == 1:
                log.warning("the server asked again to restart within %g s: ignored (at most "
                            "one fresh log-on a minute on request)", RESTART_INTERVAL)
            return
        self._restarted_at, self._restarts_ignored = now, 0
        self._stop_tasks()
        self.lost(f"the server asked clients to restart ({reason or 'no reason given'})")

    def lost(self, why: str) -> None:
        """The session is gone: reconnect (with backoff), or with session.reconnect off
        stay disconnected until `cc login`."""
        log.warning("connection lost: %s", why)
        self.last_error = why
        self.status = RECONNECTING if self.settings["session.reconnect"] else DISCONNECTED
        self.publish("session", self.view())
        if self.status == RECONNECTING:
            self.supervisor.keep("reconnect", self._reconnect_loop)

    async def _reconnect_loop(self) -> None:
        delay = self.settings["session.backoff_initial"]
        cap = self.settings["session.backoff_cap"]
        while self.status == RECONNECTING:
            pause = random.uniform(0.5, 1.0) * delay     # jitter spreads a site's agents out
            self.next_try_at = self.clock.time() + pause
            await self.clock.sleep(pause)
            try:
                await self.login()
                log.info("reconnected")
                return
            except WireError as exc:
                self.status = RECONNECTING
                self.last_error = exc.message
                if exc.code in (ErrorCode.AUTH, ErrorCode.CONFIG):
                    self.status = LOGGED_OUT
                    self.publish("session", self.view())
                    return
            delay = min(cap, delay * 2)

    async def close(self) -> None:
        self._stop_tasks()
        for task in list(self._tasks):
            await asyncio.wait([task], timeout=self.settings["server.timeout"])
        if self.status == LOGGED_IN and self.settings["session.logout_on_stop"] and \
                not self.restarting:
            try:
                await self.client.logoff(self.id_user)
            except InfinityError as exc:
                log.warning("log-off at stop failed: %s", exc)
