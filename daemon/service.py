"""The daemon: wires session, call tracker, store, journal, event listener and sockets.

One asyncio loop. CLI requests arrive on a ZeroMQ ROUTER socket and are each handled
in a task of their own; every change is published, with a sequence number, on a PUB
socket.
"""

from __future__ import annotations

import asyncio
import collections
import fcntl
import json
import logging
import os
import signal
import sqlite3
import stat
import time

import zmq
import zmq.asyncio

from . import export, periods, profile, wire
from .calls import CallTracker
from .contacts import Contacts
from .directory import Directory
from .hooks import Hooks
from .infinity.answers import AnswerTimeout, BadResponse, InfinityError
from .infinity.client import InfinityClient
from .infinity.events import Event, EventListener
from .journal import Journal
from .states import HELD, TALKING, LineState, StateMap, line_name
from .store import LINKS, SORT_COLUMNS, Store
from .wire import ErrorCode, WireError

log = logging.getLogger("cc.daemon")
MAX_IPC_PATH = 100   # sun_path holds 108 bytes on Linux
HISTORY = 2000       # published events kept for `cc watch --since`
DIAL_MODES = ("offhook", "callback")
COLOURS = ("green", "yellow", "red", "blue", "magenta", "cyan", "grey", "white")
LOG_PAGE = 5000      # rows per `log` reply; the CLI pages through bigger results


class DaemonError(Exception):
    """The daemon cannot start; the message says why and how to fix it."""


def prepare_run_dir(path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise DaemonError(f"{path} is open to other users (mode {mode:o}): run "
                          f"`chmod 700 {path}` so only you can reach the daemon")


class Daemon:
    def __init__(self, paths: profile.Paths, settings: dict):
        self.paths = paths
        self.settings = settings
        self.seq = 0
        self.history: collections.deque = collections.deque(maxlen=HISTORY)
        self.started = time.time()
        self._stop = asyncio.Event()
        self._lock_fd: int | None = None
        self._tasks: set[asyncio.Task] = set()

    # -- start and stop
    def _take_lock(self) -> None:
        fd = os.open(self.paths.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode().strip() or "?"
            os.close(fd)
            raise DaemonError(f"another cc daemon (pid {other}) already runs for this profile "
                              f"({self.paths.run_dir}); stop it with `cc daemon stop`") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    async def run(self) -> None:
        prepare_run_dir(self.paths.run_dir)
        self._take_lock()
        for name in (wire.REQUEST_SOCKET, wire.EVENTS_SOCKET):
            sock_path = self.paths.socket(name)
            if len(str(sock_path)) > MAX_IPC_PATH:
                raise DaemonError(f"socket path too long for the system ({sock_path}); "
                                  "use a shorter CC_HOME")
            sock_path.unlink(missing_ok=True)   # left by a daemon that died; we hold the lock
        s = self.settings
        self.journal = Journal(self.paths.journal, s["journal.max_bytes"], s["journal.backups"],
                               s["journal.enabled"])
        try:
            self.store = Store(self.paths.database, s["log.number_mask"])
        except (RuntimeError, sqlite3.DatabaseError) as exc:
            raise DaemonError(f"cannot open the call log {self.paths.database}: {exc}") \
                from None
        self.client = InfinityClient(s["server.host"], s["server.port"], s["server.timeout"],
                                     self.journal)
        self.tracker = CallTracker(self.store, s["server.login"], "", self.publish)
        self.listener = EventListener(s["events.listen_host"], s["events.listen_port"],
                                      self.on_event, self.journal,
                                      max_rate=s["events.max_rate"])
        try:
            port = await self.listener.start()
        except OSError as exc:
            raise DaemonError(f"cannot listen for server events on {s['events.listen_host']}:"
                              f"{s['events.listen_port']}: {exc.strerror}; change "
                              "events.listen_port") from None
        events_url = s["events.public_url"] or f"http://{s['events.listen_host']}:{port}"
        from .session import Session

        self.session = Session(s, self.client, self.tracker, self.publish, events_url)
        self.directory = Directory(self.store, self.session.states)
        self.contacts = Contacts(self.store, s["contacts.default_region"])
        self.tracker.resolver = self._resolve_number
        self.hooks = Hooks(s)
        self.tracker.on_change = self._call_changed
        self.session.on_wrapup_done = lambda call: self.hooks.fire("on_wrapup_done",
                                                                   call.view())
        self.ctx = zmq.asyncio.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.bind(f"ipc://{self.paths.socket(wire.REQUEST_SOCKET)}")
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.bind(f"ipc://{self.paths.socket(wire.EVENTS_SOCKET)}")
        for name in (wire.REQUEST_SOCKET, wire.EVENTS_SOCKET):
            os.chmod(self.paths.socket(name), 0o600)
        self.remote = self._remote_socket(s["remote.endpoint"]) if s["remote.endpoint"] \
            else None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        log.info("daemon %d ready: requests on %s, events from the server at %s", os.getpid(),
                 self.paths.socket(wire.REQUEST_SOCKET), events_url)
        serving = asyncio.create_task(self._serve(self.router))
        remote_serving = asyncio.create_task(self._serve(self.remote)) if self.remote else None
        self._spawn(self._poll_colleagues())
        self._spawn(self._flush_pending())
        if s["session.auto_login"] and s["server.login"]:
            self._spawn(self.session.auto_login())
        await self._stop.wait()
        serving.cancel()
        if remote_serving:
            remote_serving.cancel()
        await self._shutdown()

    async def _flush_pending(self) -> None:
        """Write the calls a full disk or a locked database kept in memory, when it can."""
        while True:
            await asyncio.sleep(1.0)
            if self.store.pending:
                for call_id, row_id in self.store.flush().items():
                    call = self.tracker.calls.get(call_id)
                    if call is not None and call.log_id is None:
                        call.log_id = row_id

    async def _poll_colleagues(self) -> None:
        """Colleagues' states from the server, for those whose events we may have missed."""
        while True:
            if self.session.status == "logged in":
                await self.refresh_colleagues()
            await asyncio.sleep(self.settings["directory.poll_interval"])

    async def refresh_colleagues(self) -> None:
        limit = asyncio.Semaphore(8)

        async def one(id_user: int) -> None:
            async with limit:
                sent = time.monotonic()
                try:
                    code = await self.client.get_state(id_user)
                except InfinityError as exc:
                    if exc.status == 406:      # unknown to the server: stop asking
                        self.directory.unknown.add(id_user)
                    return                     # a failed poll: events still count
                self.directory.state_seen(id_user, code, at=sent)

        await asyncio.gather(*(one(i) for i in self.directory.ids()))

    async def do_wrapup(self, done: bool = False, fields: dict | None = None,
                        log_id: int | None = None, hangup: bool | None = None) -> dict:
        """Fill the call card (F30) and close processing; a call still up needs a choice
        (F25): hang it up, or keep it."""
        call = self.session.wrapup_call
        row = None
        if fields:
            row = self._edit_card(log_id, fields)
        if done:
            await self.session.ready()
            active = self.tracker.active()
            if active and hangup is None:
                ids = ", ".join(f"{c.call_id} ({line_name(c.state)})" for c in active)
                raise WireError(ErrorCode.STATE_FORBIDS, f"a call is still up: {ids}; close wrap-up "
                                "with --hangup or --keep")
            if active and hangup:
                for other in active:
                    other.dropped_by_agent = True
                    await self._act("drop", other, lambda c: c.ended)
            await self.session.finish_wrapup()
            return self.store.get(call.log_id) if call and call.log_id else {}
        if row is not None:
            return row
        return self.store.get(call.log_id) if call and call.log_id else {}

    def _edit_card(self, log_id: int | None, fields: dict) -> dict:
        wrapped = self.session.wrapup_call
        if log_id is None:
            log_id = wrapped.log_id if wrapped and wrapped.log_id else \
                (self.store.last() or {}).get("id")
        if log_id is None:
            raise WireError(ErrorCode.NO_SUCH_CALL, "no call to fill in: the call log is empty")
        row = self.store.get(int(log_id))
        if row is None:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log (see `cc log`)")
        if "number" in fields:
            raise WireError(ErrorCode.BAD_INPUT, f"the number of a saved call cannot be changed (F26): "
                            f"call {log_id} stays {row['number']}")
        checked = {}
        for key, value in fields.items():
            if key in ("call_type", "result"):
                kind = "types" if key == "call_type" else "results"
                known = [c["name"] for c in self.store.catalog(kind)]
                if value and known and value not in known:
                    raise WireError(ErrorCode.BAD_INPUT, f"'{value}' is not in the {kind} catalogue "
                                    f"({', '.join(known)}; add it with `cc catalog add {kind} "
                                    f"{value}`)")
            elif key == "note":
                key, value = "notes", "\n".join(filter(None, [row.get("notes"), value]))
            elif key.startswith("link_"):
                if key[5:] not in LINKS:
                    raise WireError(ErrorCode.BAD_INPUT, f"unknown link '{key[5:]}': use "
                                    f"{', '.join(LINKS)}")
            elif key != "subject":
                raise WireError(ErrorCode.BAD_INPUT, f"unknown field '{key}'")
            checked[key] = value
        return self.store.edit(int(log_id), checked)

    async def do_log_edit(self, log_id: int, fields: dict) -> dict:
        return self._edit_card(int(log_id), fields)

    async def do_log_rm(self, log_id: int | None = None) -> dict:
        if log_id is not None and self.store.get(int(log_id)) is None:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log (see `cc log`)")
        self.store.flush()
        return {"removed": self.store.remove(None if log_id is None else int(log_id))}

    async def do_recordings(self, log_id: int | None = None) -> list[dict]:
        """Fetch a logged call's recordings (F21) into the data directory."""
        row = self.store.get(int(log_id)) if log_id is not None else self.store.last()
        if row is None:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log (see `cc log`)"
                            if log_id is not None else "the call log is empty")
        try:
            connections = await self.client.connections(row["call_id"])
        except InfinityError as exc:
            raise WireError(ErrorCode.SERVER, f"the server has no record of call {row['id']}: {exc}") \
                from None
        folder = self.paths.data_dir / "recordings"
        folder.mkdir(parents=True, exist_ok=True)
        found = []
        for conn in connections:
            try:
                audio = await self.client.recording(conn.id)
            except InfinityError as exc:
                log.info("no recording for connection %s: %s", conn.id, exc)
                continue
            file = folder / f"{row['counter_number'] or row['call_id']}-{conn.id}.wav"
            file.write_bytes(audio)
            found.append({"connection": conn.id, "path": str(file), "bytes": len(audio)})
        if not found:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"call {row['id']} ({row['number']}) has no "
                            "recording")
        return found

    async def do_reload(self) -> dict:
        """Take edited agent-state settings (IDs, break reasons) without a restart."""
        fresh = profile.load(self.paths.config_file)
        self.settings.update({k: v for k, v in fresh.items() if k.startswith("states.")})
        self.session.states = self.directory.states = StateMap(self.settings)
        return {"break_reasons": list(self.session.states.reasons)}

    async def do_catalog(self, kind: str) -> list[dict]:
        self._catalog_kind(kind)
        return self.store.catalog(kind)

    async def do_catalog_add(self, kind: str, name: str, colour: str = "") -> list[dict]:
        self._catalog_kind(kind)
        if colour and colour not in COLOURS:
            raise WireError(ErrorCode.BAD_INPUT, f"unknown colour '{colour}': use {', '.join(COLOURS)}")
        self.store.catalog_add(kind, name, colour)
        return self.store.catalog(kind)

    async def do_catalog_rm(self, kind: str, name: str) -> list[dict]:
        self._catalog_kind(kind)
        if not self.store.catalog_rm(kind, name):
            raise WireError(ErrorCode.BAD_INPUT, f"'{name}' is not in the {kind} catalogue")
        return self.store.catalog(kind)

    @staticmethod
    def _catalog_kind(kind: str) -> None:
        if kind not in ("types", "results"):
            raise WireError(ErrorCode.BAD_INPUT, f"unknown catalogue '{kind}': use types or results "
                            "(break reasons are the states.break_reasons setting)")

    def _call_changed(self, call, old: int, new: int) -> None:
        """Hooks on ring, answer and end (F9, F38)."""
        if new in (LineState.RINGING, LineState.REMINDER) and old not in (
                LineState.RINGING, LineState.REMINDER):
            self.hooks.fire("on_ring", call.view())
        elif new in TALKING and old not in TALKING and old not in HELD:
            self.hooks.fire("on_answer", call.view())
        elif call.ended and old not in (LineState.DISCONNECTED, LineState.FINISHED):
            self.hooks.fire("on_end", call.view())

    def _resolve_number(self, number: str) -> dict:
        try:
            return {**self.contacts.resolve(number), "number_key": self.contacts.key(number)}
        except sqlite3.Error as exc:
            log.warning("cannot look the number up in the contacts: %s", exc)
            return {}

    async def do_contacts(self, query: str = "") -> list[dict]:
        return self.contacts.search(query)

    async def do_contacts_one(self, name: str) -> dict:
        return self.contacts.one(name)

    async def do_contacts_import(self, path: str) -> dict:
        count, skipped = self.contacts.import_file(path)
        return {"imported": count, "skipped": skipped}

    async def do_contacts_add(self, name: str, account: str = "",
                              phones: list | None = None) -> dict:
        return self.contacts.add(name, account, phones)

    async def do_contacts_add_number(self, contact: str, number: str) -> dict:
        return self.contacts.add_number(contact, number)

    async def do_contacts_history(self, contact: str) -> dict:
        found, calls = self.contacts.history(contact)
        return {"contact": found, "calls": calls}

    async def do_who(self, query: str = "") -> list[dict]:
        return self.directory.search(query)

    async def do_who_import(self, path: str) -> dict:
        count, skipped = self.directory.import_csv(path)
        if self.session.status == "logged in":
            self._spawn(self.refresh_colleagues())
        return {"imported": count, "skipped": skipped}

    async def _shutdown(self) -> None:
        log.info("stopping")
        await self.session.close()
        await self.hooks.close()
        await self.listener.stop()
        await self.client.close()
        self.store.flush()
        self.store.close()
        self.journal.close()
        self.router.close()
        self.pub.close()
        if self.remote is not None:
            self.remote.close()
            self.auth.stop()
        self.ctx.term()
        for name in (wire.REQUEST_SOCKET, wire.EVENTS_SOCKET):
            self.paths.socket(name).unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- events from the server, and to the CLI
    def publish(self, kind: str, payload) -> None:
        self.seq += 1
        msg = {"seq": self.seq, "kind": kind, "at": time.time(), "daemon": os.getpid(),
               "data": payload}
        self.history.append(msg)
        try:
            self.pub.send(json.dumps(msg, ensure_ascii=False).encode(), zmq.NOBLOCK)
        except (zmq.ZMQError, AttributeError):
            pass   # no socket yet, or a slow subscriber: the event is dropped for it

    def on_event(self, event: Event) -> None:
        session = self.session
        if event.kind == "state" and event.int("IDUser") is not None \
                and event.int("IDUserState") is not None:
            self.directory.state_seen(event.int("IDUser"), event.int("IDUserState"))
        if session.id_user is None:
            return
        if event.kind == "restart":
            session.restart_requested(event.params.get("Reason", ""))
            return
        mine = (event.int("IDUser") == session.id_user
                or (session.extension and event.params.get("Extension") == session.extension))
        if not mine:
            return
        call_id = event.params.get("IDCall", "")
        if event.kind == "state":
            code = event.int("IDUserState")
            if code is not None:
                session.state_changed(code)
        elif event.kind == "call_created" and call_id:
            call = self.tracker.seen(call_id, event.params.get("Direction"),
                                     event.params.get("Number", ""))
            self._call_details(call, event.params)
        elif event.kind == "call_state" and call_id:
            state = event.int("State")
            if state is not None:
                self.tracker.seen(call_id, state=state, reason=event.params.get("Reason", ""))
        elif event.kind == "call_deleted" and call_id in self.tracker.calls:
            self.tracker.change(self.tracker.calls[call_id], LineState.FINISHED)

    def _remote_socket(self, endpoint: str):
        """A ROUTER on TCP that only clients with an authorised CURVE key may use."""
        import zmq.auth
        from zmq.auth.asyncio import AsyncioAuthenticator

        keys = self.paths.keys_dir
        secret = keys / "server.key_secret"
        if not secret.exists():
            raise DaemonError(f"remote.endpoint is set but there are no keys in {keys}: run "
                              "`cc daemon keys`")
        self.auth = AsyncioAuthenticator(self.ctx)
        self.auth.start()
        self.auth.configure_curve(domain="*", location=str(keys / "authorized"))
        public, private = zmq.auth.load_certificate(secret)
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.curve_secretkey, sock.curve_publickey = private, public
        sock.curve_server = True
        try:
            sock.bind(endpoint)
        except zmq.ZMQError as exc:
            raise DaemonError(f"cannot listen on remote.endpoint {endpoint}: {exc}") from None
        log.info("remote control on %s (CURVE)", endpoint)
        return sock

    # -- requests from the CLI
    async def _serve(self, sock) -> None:
        while True:
            frames = await sock.recv_multipart()
            self._spawn(self._answer(sock, frames))

    async def _answer(self, sock, frames: list[bytes]) -> None:
        envelope, body = frames[:-1], frames[-1]
        try:
            msg = json.loads(body)
            cmd, args = msg["cmd"], msg.get("args") or {}
            handler = getattr(self, f"do_{cmd}", None)
            if handler is None:
                raise WireError(ErrorCode.UNKNOWN_COMMAND, f"the daemon does not know '{cmd}'; "
                                "is cc newer than the running daemon? (`cc daemon stop`)")
            reply = wire.reply_ok(await handler(**args))
        except WireError as exc:
            reply = wire.reply_error(exc.code, exc.message)
        except (ValueError, KeyError, TypeError) as exc:
            reply = wire.reply_error(ErrorCode.BAD_INPUT, f"malformed request: {exc}")
        except InfinityError as exc:
            reply = wire.reply_error(ErrorCode.SERVER, f"the server refused: {exc}")
        except Exception as exc:   # a bug must not take the daemon down
            log.exception("request failed")
            reply = wire.reply_error(ErrorCode.FAILED, f"internal error: {type(exc).__name__}: {exc}")
        await sock.send_multipart([*envelope, reply])

    async def do_ping(self) -> dict:
        return {"pid": os.getpid(), "uptime": round(time.time() - self.started, 1)}

    async def do_status(self) -> dict:
        return {**self.session.view(), "calls": [c.view() for c in self.tracker.active()],
                "pid": os.getpid(), "unsaved_calls": len(self.store.pending),
                "store_error": self.store.last_error, "seq": self.seq}

    async def do_login(self, password: str | None = None) -> dict:
        return await self.session.login(password)

    async def do_logout(self) -> dict:
        return await self.session.logout()

    async def do_state(self, name: str | None = None, reason: str | None = None,
                       other: str | None = None, for_seconds: float | None = None,
                       after_call: bool = False) -> dict:
        if name is None:
            return self.session.view()
        return await self.session.set_state(name, reason, other, for_seconds, after_call)

    def _call_details(self, call, params: dict) -> None:
        """What OnCallCreated tells beyond the basics: transfers and groups ([ours])."""
        changed = False
        if params.get("TransferFrom") and not call.transfer_from:
            ext = params["TransferFrom"]
            found = [c for c in self.directory.search(ext) if c["extension"] == ext]
            call.transfer_from = f"{found[0]['name']} ({ext})" if found else ext
            call.transfer_to = self.settings["server.login"]
            call.transfer_number = self.session.extension
            changed = True
        if params.get("Group") and not call.group_number:
            call.group_number = params["Group"]
            changed = True
        if changed:
            self.tracker.save(call)

    # -- transfers (F35)
    async def do_transfer(self, target: str | None = None, blind: bool = False,
                          action: str | None = None, call_id: str | None = None) -> dict:
        id_user = await self.session.ready()
        if action == "complete":
            first = self._consulting(call_id)
            leg = self.tracker.calls[first.transfer_leg]
            if leg.state != LineState.CONNECTED:
                raise self._forbid(leg, "transfer complete", "the target to have answered")
            try:
                await self.client.call("/call/finishtransfer/", IDUser=id_user,
                                       IDCall=first.call_id)
            except InfinityError as exc:
                raise WireError(ErrorCode.SERVER, f"the server refused to complete the transfer: "
                                f"{exc}") from None
            await self.tracker.wait_for(first, lambda c: c.ended,
                                        self.settings["server.poll_interval"] + 1)
            return first.view()
        if action == "cancel":
            first = self._consulting(call_id)
            return await self._take_back(first)
        if not target:
            raise WireError(ErrorCode.BAD_INPUT, "name a transfer target: a number or a colleague")
        call = self._pick(call_id, {LineState.CONNECTED}, "transfer")
        if call.state not in (LineState.CONNECTED, *HELD):
            raise self._forbid(call, "transfer", "a connected call")
        number, who = self.directory.resolve(target)
        call.transfer_from = self.settings["server.login"]
        call.transfer_to, call.transfer_number = who, number
        try:
            if blind:
                await self.client.quick_transfer(id_user, call.call_id, number)
            else:
                leg_id = await self.client.start_transfer(id_user, call.call_id, number)
        except InfinityError as exc:
            call.transfer_from = call.transfer_to = call.transfer_number = ""
            raise WireError(ErrorCode.SERVER, f"the server refused the transfer to {who}: {exc}") \
                from None
        self.tracker.save(call)
        if blind:
            await self.tracker.wait_for(call, lambda c: c.ended,
                                        self.settings["server.poll_interval"] + 1)
            return call.view()
        leg = self.tracker.seen(leg_id, 2, number)
        call.transfer_leg = leg.call_id
        self._spawn(self._consult_timeout(call, leg))
        settle = self.settings["server.poll_interval"] + 1
        await self.tracker.wait_for(call, lambda c: c.state in HELD or c.ended, settle)
        await self.tracker.wait_for(leg, lambda c: c.state != LineState.UNKNOWN, settle)
        return {**call.view(), "transfer_leg": leg.view()}

    def _consulting(self, call_id: str | None):
        """The call whose consult transfer is in progress."""
        for call in self.tracker.active():
            if call.transfer_leg and (call_id in (None, call.call_id, call.transfer_leg)):
                leg = self.tracker.calls.get(call.transfer_leg)
                if leg is not None and not leg.ended:
                    return call
        raise WireError(ErrorCode.NO_SUCH_CALL, "no consult transfer in progress "
                        "(start one with `cc transfer TARGET`)")

    async def _take_back(self, first) -> dict:
        """Hang up on the consult target and resume the caller."""
        leg = self.tracker.calls[first.transfer_leg]
        first.transfer_leg = ""      # tells the consult timer that this transfer is over
        first.transfer_to = first.transfer_number = first.transfer_from = ""
        if not leg.ended:
            leg.dropped_by_agent = True
            await self._act("drop", leg, lambda c: c.ended)
        self.tracker.save(first)
        if first.state in HELD:
            await self._act("unhold", first, _resumed)
        return first.view()

    async def _consult_timeout(self, first, leg) -> None:
        answered = await self.tracker.wait_for(
            leg, lambda c: c.connected_at is not None or c.ended,
            self.settings["transfer.timeout"])
        if first.ended or first.transfer_leg != leg.call_id:
            return
        if not answered or leg.ended:
            log.info("consult target of call %s did not answer; taking the caller back",
                     first.call_id)
            try:
                await self._take_back(first)
            except WireError as exc:
                log.warning("could not take the caller back: %s", exc.message)
            self.publish("transfer", {"call_id": first.call_id, "returned": True})

    async def do_events_since(self, seq: int) -> dict:
        """Events after `seq` still kept, or `complete: false` when some are gone (a gap)."""
        seq = int(seq)
        kept = [m for m in self.history if m["seq"] > seq]
        oldest = self.history[0]["seq"] if self.history else self.seq + 1
        return {"seq": self.seq, "complete": seq >= oldest - 1 and seq <= self.seq,
                "events": kept}

    async def do_calls(self) -> list[dict]:
        return [c.view() for c in sorted(self.tracker.active(), key=lambda c: c.started_at)]

    async def do_dial(self, number: str, wait: float | None = None,
                      mode: str | None = None) -> dict:
        call = await self._dial(number, mode)
        if wait is None:
            return call.view()
        # In callback mode the far end's answer rings the agent's phone back (Reminder).
        settled = await self.tracker.wait_for(
            call, lambda c: c.ended or c.connected_at is not None
            or c.state == LineState.REMINDER, float(wait))
        if not settled:
            call.dropped_by_agent = True
            try:
                await self.client.call_action("drop", self.session.id_user, call.call_id)
            except InfinityError as exc:
                log.warning("could not hang up call %s after --timeout: %s", call.call_id, exc)
            await self.tracker.wait_for(call, lambda c: c.ended,
                                        self.settings["server.poll_interval"] + 1)
        return {**call.view(), "timed_out": not settled}

    async def do_redial(self, log_id: int | None = None, wait: float | None = None) -> dict:
        row = self.store.get(int(log_id)) if log_id is not None else self.store.last()
        if row is None:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log (see `cc log`)"
                            if log_id is not None else "the call log is empty: nothing to redial")
        if not row.get("number"):
            raise WireError(ErrorCode.BAD_INPUT, f"call {row['id']} has no number to redial")
        return await self.do_dial(row["number"], wait)

    async def _dial(self, number: str, mode: str | None = None):
        id_user = await self.session.ready()
        mode = mode or self.settings["dial.mode"]
        if mode not in DIAL_MODES:
            raise WireError(ErrorCode.BAD_INPUT, f"unknown dial mode '{mode}': use "
                            f"{' or '.join(DIAL_MODES)}")
        try:
            call_id = await self.client.make_call(id_user, number, mode)
        except (BadResponse, AnswerTimeout) as exc:
            raise WireError(ErrorCode.SERVER, f"{exc}; the call may have been placed anyway: "
                            "see `cc status` before dialling again") from None
        except InfinityError as exc:
            raise WireError(ErrorCode.SERVER, f"the server refused the call to {number}: {exc}") \
                from None
        # Dialling until the server says more (its events may have come first).
        known = call_id in self.tracker.calls
        return self.tracker.seen(call_id, 2, number, None if known else LineState.DIAL_NUMBER,
                                 dial_mode=mode)

    def _pick(self, call_id: str | None, wanted=None, verb: str = "") -> "object":
        if call_id:
            call = self.tracker.calls.get(str(call_id))
            if call is None or call.ended:
                raise WireError(ErrorCode.NO_SUCH_CALL, f"no active call {call_id} (see `cc status`)")
            return call
        active = self.tracker.active()
        if wanted:
            matching = [c for c in active if c.state in wanted]
            if len(matching) == 1:
                return matching[0]
        if not active:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"no call to {verb}: the line is idle")
        if len(active) > 1:
            ids = ", ".join(c.call_id for c in active)
            raise WireError(ErrorCode.BAD_INPUT, f"several calls ({ids}): name one with --call")
        return active[0]

    async def _act(self, action: str, call, done) -> dict:
        """Ask the server, then wait (briefly) until the call shows the result."""
        try:
            await self.client.call_action(action, self.session.id_user, call.call_id)
        except InfinityError as exc:
            raise WireError(ErrorCode.SERVER, f"the server refused to {action} call {call.call_id}: "
                            f"{exc}") from None
        await self.tracker.wait_for(call, done, self.settings["server.poll_interval"] + 1)
        return call.view()

    @staticmethod
    def _forbid(call, verb: str, needs: str) -> WireError:
        return WireError(ErrorCode.STATE_FORBIDS, f"call {call.call_id} is {line_name(call.state)}: "
                         f"{verb} needs {needs}")

    async def do_answer(self, call_id: str | None = None) -> dict:
        await self.session.ready()
        ringing = {LineState.RINGING, LineState.REMINDER}
        call = self._pick(call_id, ringing, "answer")
        if call.state not in ringing:
            raise self._forbid(call, "answer", "a ringing call")
        return await self._act("accept", call, lambda c: c.state in TALKING or c.ended)

    async def do_reject(self, call_id: str | None = None) -> dict:
        await self.session.ready()
        ringing = {LineState.RINGING, LineState.REMINDER}
        call = self._pick(call_id, ringing, "reject")
        if call.state not in ringing or call.direction != "in":
            raise self._forbid(call, "reject", "a ringing incoming call")
        call.dropped_by_agent = True
        return await self._act("drop", call, lambda c: c.ended)

    async def do_dtmf(self, digits: str, call_id: str | None = None) -> dict:
        id_user = await self.session.ready()
        call = self._pick(call_id, {LineState.CONNECTED}, "send digits to")
        if call.state != LineState.CONNECTED:
            raise self._forbid(call, "dtmf", "a connected call")
        try:
            await self.client.call("/call/senddigits/", IDUser=id_user, IDCall=call.call_id,
                                   Digits=digits)
        except InfinityError as exc:
            raise WireError(ErrorCode.SERVER, f"the server refused the digits: {exc}") from None
        return {**call.view(), "digits": digits}

    async def do_hangup(self, call_id: str | None = None) -> dict:
        await self.session.ready()
        call = self._pick(call_id, verb="hang up")
        call.dropped_by_agent = True
        return await self._act("drop", call, lambda c: c.ended)

    async def do_hold(self, call_id: str | None = None) -> dict:
        """A toggle: hold a connected call, resume a held one."""
        await self.session.ready()
        call = self._pick(call_id, verb="hold")
        if call.state in HELD:
            return await self._act("unhold", call, _resumed)
        if call.state != LineState.CONNECTED:
            raise self._forbid(call, "hold", "a connected call")
        return await self._act("hold", call, lambda c: c.state in HELD or c.ended)

    async def do_unhold(self, call_id: str | None = None) -> dict:
        await self.session.ready()
        call = self._pick(call_id, HELD, "resume")
        if call.state not in HELD:
            raise self._forbid(call, "unhold", "a call on hold")
        return await self._act("unhold", call, _resumed)

    async def do_log(self, limit: int = 20, after: list | None = None, **filters) -> dict:
        """One page of the call log; `next` is the cursor of the following page, if any."""
        if not 1 <= int(limit) <= LOG_PAGE:
            raise WireError(ErrorCode.BAD_INPUT, f"page size {limit} is out of range: 1 to {LOG_PAGE}")
        self._log_filters(filters)
        self.store.flush()
        try:
            rows = self.store.find(limit=int(limit) + 1, after=after, **filters)
        except periods.PeriodError as exc:
            raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None
        more = len(rows) > int(limit)
        rows = rows[:int(limit)]
        column = SORT_COLUMNS[filters.get("sort", "start")]
        cursor = [rows[-1][column], rows[-1]["id"]] if more else None
        return {"rows": rows, "next": cursor}

    @staticmethod
    def _log_filters(filters: dict) -> None:
        sort = filters.get("sort", "start")
        if sort not in SORT_COLUMNS:
            raise WireError(ErrorCode.BAD_INPUT, f"cannot sort by '{sort}': use "
                            f"{', '.join(SORT_COLUMNS)}")
        if filters.get("direction") not in (None, "in", "out"):
            raise WireError(ErrorCode.BAD_INPUT, f"direction '{filters['direction']}': use in or out")

    async def do_log_export(self, path: str, format: str, columns: list[str],
                            limit: int | None = None, **filters) -> dict:
        """`cc log --output FILE`: the daemon writes the file from one cursor, in a thread,
        so the loop goes on serving calls meanwhile."""
        self._log_filters(filters)
        self.store.flush()
        try:
            self.store.select(limit=limit, **filters)
        except periods.PeriodError as exc:
            raise WireError(ErrorCode.BAD_INPUT, str(exc)) from None

        def sql_for(cols):
            return self.store.select(limit=limit, columns=cols, **filters)
        try:
            count = await asyncio.to_thread(export.write_file, self.paths.database, path,
                                            format, tuple(columns), sql_for)
        except OSError as exc:
            raise WireError(ErrorCode.BAD_INPUT, f"cannot write {path}: {exc.strerror}") from None
        return {"written": count, "path": path}

    async def do_log_show(self, log_id: int) -> dict:
        row = self.store.get(int(log_id))
        if row is None:
            raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log (see `cc log`)")
        return row

    async def do_shutdown(self) -> dict:
        asyncio.get_running_loop().call_soon(self._stop.set)
        return {"pid": os.getpid(), "stopping": True}


def _resumed(call) -> bool:
    return call.state not in HELD


def run_foreground() -> int:
    """`cc daemon run`: serve until SIGTERM/SIGINT or `cc daemon stop`."""
    import sys

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        paths = profile.paths()
        settings = profile.load(paths.config_file)
        profile.check_private(settings, paths.config_file)
        asyncio.run(Daemon(paths, settings).run())
    except (DaemonError, profile.ConfigError) as exc:
        print(f"cc daemon: {exc}", file=sys.stderr)
        return int(wire.Exit.CONFIG)
    return 0

