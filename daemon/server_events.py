"""What the server pushes, applied: colleagues' states to the directory; the agent's own
state, calls and restart requests to the session and the call tracker.

An event is not proof: anyone who reaches the listener can send one. An event about a call
the daemon does not know yet creates nothing; it is kept aside (a bounded table, the
least recently seen dropped) and makes a poll due. Only when the server lists the call
(or answers the dial that placed it) does it become a record, and the events kept for it
are applied then.
"""

from __future__ import annotations

from .bounded import Recent
from .calls import Call
from .infinity import values
from .states import LineState

MAX_UNKNOWN_CALLS = 256     # calls named by events that no poll has listed yet
EVENTS_KEPT = 8             # events kept for each of them (the first ones)


class ServerEvents:
    def __init__(self, session, tracker, directory, settings: dict):
        self.session = session
        self.tracker = tracker
        self.directory = directory
        self.settings = settings
        self.unknown_calls = Recent(MAX_UNKNOWN_CALLS)     # call id -> its events
        tracker.on_confirmed = self.confirmed

    def __call__(self, event: values.ServerEvent) -> None:
        if isinstance(event, values.AgentStateChanged):
            self.directory.state_seen(event.id_user, event.state, at=event.at)
        session = self.session
        if session.id_user is None:
            return
        if isinstance(event, values.RestartRequested):
            session.restart_requested(event.reason)
        elif not self._mine(event):
            return
        elif isinstance(event, values.AgentStateChanged):
            session.state_changed(event.state)
        elif event.call_id in self.tracker.calls:
            self._apply(event)
        else:
            self._unknown_call(event)

    def _apply(self, event) -> None:
        """A call event, for a call the server vouches for."""
        if isinstance(event, values.CallCreated):
            call = self.tracker.seen(event.call_id, event.direction, event.number,
                                     at=event.at)
            self._details(call, event)
        elif isinstance(event, values.CallStateChanged):
            self.tracker.seen(event.call_id, state=event.state, reason=event.reason,
                              at=event.at)
        elif event.call_id in self.tracker.calls:
            self.tracker.change(self.tracker.calls[event.call_id], LineState.FINISHED)

    def _unknown_call(self, event) -> None:
        """Keep the event until the server vouches for its call, and make a poll due; a
        call deleted before that is forgotten."""
        if isinstance(event, values.CallDeleted):
            self.unknown_calls.pop(event.call_id)
            return
        kept = self.unknown_calls.get(event.call_id, [])
        self.unknown_calls.put(event.call_id, kept + [event] if len(kept) < EVENTS_KEPT
                               else kept)
        self.session.poller.due(event.call_id)

    def confirmed(self, call_id: str) -> None:
        """The server lists the call (or placed it): the events kept for it count now, each
        as of when it arrived, so a poll sent before one cannot undo it."""
        for event in self.unknown_calls.pop(call_id) or ():
            self._apply(event)

    def _mine(self, event) -> bool:
        session = self.session
        return event.id_user == session.id_user or bool(
            session.extension and event.extension == session.extension)

    def _details(self, call: Call, event: values.CallCreated) -> None:
        """What a call's creation tells beyond the basics: transfers and groups ([ours])."""
        changed = False
        self.tracker.arrived(call, event.transfer_from, event.seance)
        if event.transfer_from and not call.transfer_from:
            ext = event.transfer_from
            found = [c for c in self.directory.search(ext) if c["extension"] == ext]
            call.transfer_from = f"{found[0]['name']} ({ext})" if found else ext
            call.transfer_to = self.settings["server.login"]
            call.transfer_number = self.session.extension
            changed = True
        if event.group and not call.group_number:
            call.group_number = event.group
            changed = True
        if changed:
            self.tracker.save(call)
