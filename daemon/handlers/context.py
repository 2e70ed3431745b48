"""What every handler may use: the daemon's parts, built once at start.

The data flows one way: the server (`infinity/`) -> the session and the call tracker ->
the call log and the journal -> the feed of changes -> the CLI.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import json
import logging
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Callable

from .. import clock as clocks
from .. import profile, reach
from ..calls import CallTracker
from ..contacts import Contacts
from ..control import Control
from ..directory import Directory
from ..feed import Feed
from ..hooks import Hooks
from ..infinity import EventListener, InfinityClient
from ..journal import Journal
from ..attachments import Files, drain
from ..reminders import Reminders
from ..retention import Retention
from ..server_events import ServerEvents
from ..session import Session
from ..states import StateMap
from ..store import Store, card_of, open_store
from ..supervisor import Supervisor
from ..transfer import Transfers

log = logging.getLogger("cc.daemon")


# True while answering a request that came over the remote endpoint (remote.endpoint): such
# a request may name no file on this machine.
REMOTE = contextvars.ContextVar("remote", default=False)


class StartError(Exception):
    """The daemon cannot start; the message says why and how to fix it."""


@dataclass
class Context:
    paths: profile.Paths
    settings: dict
    feed: Feed
    spawn: Callable
    stop: Callable[[], None]
    journal: Journal
    store: Store
    client: InfinityClient
    tracker: CallTracker
    listener: EventListener
    session: Session
    directory: Directory
    contacts: Contacts
    hooks: Hooks
    control: Control
    transfers: Transfers
    supervisor: Supervisor
    team: object | None = None          # the team store's Replicator, when team.url is set
    retention: Retention | None = None
    reminders: Reminders | None = None
    started: float = field(default_factory=time.time)
    events: reach.Plan | None = None    # where the event listener listens, and its URL
    files: Files | None = None          # the files attached to calls (cc log attach)

    def publish(self, kind: str, payload) -> None:
        self.feed.publish(kind, payload)

    def take_settings(self, fresh: dict) -> dict[str, list[str]]:
        """The settings file read again: the running daemon takes every change it can, at
        once or at its next log-on; the rest wait for a restart (profile.applies). The
        changed settings, by when they apply."""
        changed = {k: v for k, v in fresh.items() if self.settings.get(k) != v}
        by_when: dict[str, list[str]] = {profile.NOW: [], profile.AT_LOGIN: [],
                                         profile.AT_RESTART: []}
        for key in changed:
            by_when[profile.applies(key)].append(key)
        s = self.settings
        s.update({k: changed[k] for k in by_when[profile.NOW] + by_when[profile.AT_LOGIN]})
        self.session.states = self.directory.states = StateMap(s)
        self.client.timeout = s["server.timeout"]
        self.contacts.region = s["contacts.default_region"]
        self.store.number_mask = s["log.number_mask"]
        self.journal.max_bytes, self.journal.backups = s["journal.max_bytes"], \
            s["journal.backups"]
        self.journal.switch(s["journal.enabled"])
        self.journal.mask_numbers = s["privacy.mask_numbers"]
        if {"server.password", "server.password_command"} & set(changed):
            self.session.forget_password()
        if changed:
            log.info("settings reloaded: %s", ", ".join(
                f"{key} ({when})" for when, keys in by_when.items() for key in keys))
        return by_when

    def events_view(self) -> dict:
        """The event listener as `cc status` and `cc doctor` show it: where it is bound,
        what it warns of, when the last event came and how long the agent is logged in
        (on the daemon's clock)."""
        now, last = self.session.clock.time(), self.listener.last_event_at
        since = self.session.logged_in_at if self.session.logged_in else None
        plan = self.events
        return {"bind": f"{reach.url_host(self.listener.host)}:{self.listener.port}",
                "public_url": bool(plan and plan.public_url), "remote_server":
                bool(plan and plan.remote), "warnings": plan.warnings if plan else [],
                "local_only": plan.local_only if plan else None,
                "listener_id": self.listener.identity, "last_event_at": last,
                "last_event_ago": None if last is None else round(now - last, 1),
                "logged_in_for": None if since is None else round(now - since, 1)}

    async def close(self) -> None:
        await self.session.close()
        await self.supervisor.close()
        if self.team is not None:
            await self.team.close()
        if self.contacts.sync is not None:
            await self.contacts.sync.close()
        await self.hooks.close()
        await self.listener.stop()
        await self.client.close()
        self.store.flush()
        self.store.close()
        self.journal.close()


async def open_context(paths: profile.Paths, settings: dict, feed: Feed, spawn,
                       stop) -> Context:
    """Open the journal and the call log, start the event listener, wire the parts."""
    s = settings
    journal = Journal(paths.journal, s["journal.max_bytes"], s["journal.backups"],
                      s["journal.enabled"])
    journal.mask_numbers = s["privacy.mask_numbers"]
    try:
        store = open_store(paths.database, s["log.number_mask"], paths.spool)
    except (RuntimeError, sqlite3.DatabaseError) as exc:
        raise StartError(f"cannot open the call log {paths.database}: {exc}") from None
    except OSError as exc:
        raise StartError(f"cannot open the call log {paths.database}: {exc.strerror} "
                         f"({exc.filename})") from None
    client = InfinityClient(s["server.host"], s["server.port"], s["server.timeout"], journal)
    tracker = CallTracker(store, s["server.login"], "", feed.publish, server=client.base)
    clock = clocks.from_environment()
    where = await asyncio.to_thread(reach.plan, s)
    try:
        listener = EventListener(where.bind, s["events.listen_port"], None,
                                 journal, max_rate=s["events.max_rate"],
                                 token=s["events.token"], clock=clock)
    except ValueError as exc:
        raise StartError(str(exc)) from None
    try:
        port = await listener.start()
    except OSError as exc:
        raise StartError(_cannot_listen(where.bind, s["events.listen_port"], exc)) from None
    events_url = await asyncio.to_thread(where.url, port)
    for warning in where.warnings:
        log.warning("%s", warning)
    supervisor = Supervisor(clock.sleep, clock.time)
    session = Session(s, client, tracker, feed.publish, events_url, clock, supervisor)
    directory = Directory(store, session.states)
    contacts = Contacts(store, s["contacts.default_region"])
    hooks = Hooks(s, lambda call: _card(store, call))
    control = Control(tracker, client, session, s)
    ctx = Context(paths, s, feed, spawn, stop, journal, store, client, tracker, listener,
                  session, directory, contacts, hooks, control,
                  Transfers(control, directory, s, spawn, feed.publish), supervisor)
    ctx.events = where
    listener.on_event = ServerEvents(session, tracker, directory, s)
    tracker.resolver = lambda number: _describe(contacts, number)
    tracker.on_change = hooks.call_changed
    session.after_call.on_done = lambda call: hooks.fire("on_wrapup_done", call)
    supervisor.keep("flush", tracker.keep_flushing)
    supervisor.keep("directory", lambda: directory.keep_polling(
        client, session, lambda: s["directory.poll_interval"]))
    _take_handover(paths, session)
    if s["team.url"]:
        from ..team.replicate import Replicator    # psycopg only for a team's daemons

        ctx.team = Replicator(store, s, clock)
        ctx.team.apply_card = tracker.take_card
        tracker.team = ctx.transfers.team = ctx.team
        supervisor.keep("team", ctx.team.run)
        from ..team.directory_sync import DirectorySync

        contacts.sync = DirectorySync(store, contacts, s, clock)
        supervisor.keep("contacts sync", contacts.sync.run)
    ctx.files = Files(store, paths.data_dir / "files")
    ctx.files.clear_incoming()
    spawn(drain(ctx.files))         # copies a removal before the stop could not remove
    ctx.retention = Retention(store, s, clock, ctx.team)
    ctx.retention.files = ctx.files
    supervisor.keep("retention", ctx.retention.keep_purging)
    ctx.reminders = Reminders(store, clock, lambda reminder: _remind(ctx, reminder))
    supervisor.keep("reminders", ctx.reminders.keep_firing)
    if s["session.auto_login"] and s["server.login"]:
        spawn(session.auto_login())
    return ctx


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    """Why the event listener cannot bind host:port, and the setting that fixes it."""
    where = f"cannot listen for server events on {reach.url_host(host)}:{port}"
    if isinstance(exc, socket.gaierror):
        return (f"{where}: events.listen_host {host} is no address ({exc.strerror}); set it "
                "to an address of this machine, 0.0.0.0 for all, or empty")
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"{where}: {host} is not an address of this machine; set events.listen_host "
                "to one of its addresses (`hostname -I`), 0.0.0.0 for all, or empty")
    if exc.errno == errno.EADDRINUSE:
        return f"{where}: the port is in use by another program; change events.listen_port"
    if exc.errno == errno.EACCES:
        return (f"{where}: a port below 1024 needs root; set events.listen_port from 1024 "
                "up")
    return f"{where}: {exc.strerror or exc}; change events.listen_host or events.listen_port"


def _card(store: Store, call) -> dict:
    """The call's card as its record holds it, for hooks; a failing read costs the hook
    the card's other fields, not its run."""
    row = None
    try:
        row = store.get(call.log_id) if call.log_id is not None else None
    except sqlite3.Error as exc:
        log.warning("cannot read the card of call %s: %s", call.call_id, exc)
    return card_of(row or {"contact": call.contact, "account": call.account})


def _remind(ctx: Context, reminder: dict) -> None:
    """A reminder fell due: `cc watch` sees it, and the hook and the desktop notice run."""
    ctx.publish("reminder", reminder)
    ctx.hooks.reminder(reminder)


def _take_handover(paths: profile.Paths, session: Session) -> None:
    """The agent's state a daemon stopped by `cc daemon restart` left, read once."""
    try:
        text = paths.handover.read_text(encoding="utf-8")
        paths.handover.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("cannot read the state left by the daemon before: %s", exc)
        return
    try:
        session.take_handover(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignored the state left by the daemon before (%s): %s", paths.handover,
                    exc)


def _describe(contacts: Contacts, number: str) -> dict:
    """Who a number belongs to, for the call's record; a failing lookup costs no call."""
    try:
        return {**contacts.resolve(number), "number_key": contacts.key(number)}
    except sqlite3.Error as exc:
        log.warning("cannot look the number up in the contacts: %s", exc)
        return {}
