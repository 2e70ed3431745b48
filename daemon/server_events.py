"""What the server pushes, applied: colleagues' states to the directory; the agent's own
state, calls and restart requests to the session and the call tracker."""

from __future__ import annotations

from .calls import Call
from .infinity import values
from .states import LineState


class ServerEvents:
    def __init__(self, session, tracker, directory, settings: dict):
        self.session = session
        self.tracker = tracker
        self.directory = directory
        self.settings = settings

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
        elif isinstance(event, values.CallCreated):
            call = self.tracker.seen(event.call_id, event.direction, event.number,
                                     at=event.at)
            self._details(call, event)
        elif isinstance(event, values.CallStateChanged):
            self.tracker.seen(event.call_id, state=event.state, reason=event.reason,
                              at=event.at)
        elif isinstance(event, values.CallDeleted) and event.call_id in self.tracker.calls:
            self.tracker.change(self.tracker.calls[event.call_id], LineState.FINISHED)

    def _mine(self, event) -> bool:
        session = self.session
        return event.id_user == session.id_user or bool(
            session.extension and event.extension == session.extension)

    def _details(self, call: Call, event: values.CallCreated) -> None:
        """What a call's creation tells beyond the basics: transfers and groups ([ours])."""
        changed = False
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
