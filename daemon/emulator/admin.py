"""A client of the emulator's admin endpoints (/_emulator/...): tests, the demo, `cc emulator`.

Standard library only, so importing it costs nothing. Each method answers the emulator's
`result` object as it comes; any failure raises AdminError.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

ADMIN_PREFIX = "/_emulator/"
FOREVER = "forever"         # network(FOREVER): down until network(0) brings it back


def read_clock(body: bytes) -> tuple[float, float, bool] | None:
    """(now, time scale, manual) from the body of the clock endpoint's answer, or None
    when the body is not the emulator's (a real server's 404 or 406)."""
    try:
        clock = json.loads(body)["result"]
        return float(clock["Now"]), float(clock.get("TimeScale", 1)), \
            clock.get("Mode") == "manual"
    except (ValueError, KeyError, TypeError):
        return None


class AdminError(Exception):
    """The emulator refused an admin request, or could not be reached.

    `message` is the emulator's ErrorMessage (or why it could not be reached), `status`
    the HTTP status of a refusal (None when no answer came); str() is one whole line.
    """

    def __init__(self, line: str, message: str, status: int | None = None):
        super().__init__(line)
        self.message = message
        self.status = status


class Admin:
    """The emulator at `url` (http://HOST:PORT), steered through its admin endpoints."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def url_for(self, name: str) -> str:
        """The address of the admin endpoint NAME, for a caller that needs the raw answer."""
        return f"{self.url}{ADMIN_PREFIX}{name}/"

    def request(self, name: str, **params) -> dict:
        """GET /_emulator/NAME/ with the parameters that are not None; the `result` object."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        target = self.url_for(name) + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(target, timeout=self.timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            with exc:
                message = _error_message(exc.read()) or f"HTTP {exc.code}"
            raise AdminError(f"the emulator at {self.url} refused {name}: {message}", message,
                             exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = str(getattr(exc, "reason", exc))
            raise AdminError(f"cannot reach the emulator at {self.url}: {reason}", reason) from None
        try:
            return json.loads(body)["result"]
        except (ValueError, KeyError, TypeError):
            message = f"{target} answered something that is not an emulator's answer"
            raise AdminError(f"{message} (is {self.url} the emulator?)", message, 200) from None

    def subscribe(self, events_url: str) -> dict:
        """Push every event to events_url from now on (subscribing twice changes nothing)."""
        return self.request("subscribe", URL=events_url)

    def unsubscribe(self, events_url: str) -> dict:
        return self.request("unsubscribe", URL=events_url)

    def call_in(self, caller: str, to: str) -> dict:
        """An incoming call from the number `caller` to an extension or group: IDCall, IDCalls."""
        return self.request("call-in", From=caller, To=to)

    def hangup(self, call_id: int | str) -> dict:
        """The far end hangs up the call."""
        return self.request("hangup", IDCall=call_id)

    def network(self, down: float | str) -> dict:
        """Drop the network for `down` emulated seconds, or FOREVER; 0 brings it back."""
        return self.request("network", Down=down)

    def fault(self, kind: str, count: int | None = None, path: str | None = None,
              delay: float | None = None) -> dict:
        """Break the next `count` answers (of one path) the way `kind` says; "none" clears."""
        return self.request("fault", Kind=kind, Count=count, Path=path, Delay=delay)

    def restart(self) -> dict:
        """The server restarts: every session and call is gone."""
        return self.request("restart")

    def ask_restart(self, reason: str | None = None) -> dict:
        """The server asks its clients to restart (an OnRestartRequired event)."""
        return self.request("ask-restart", Reason=reason)

    def clock(self) -> dict:
        """The emulated time: Now (epoch seconds), TimeScale and Mode ("scaled" or "manual")."""
        return self.request("clock")

    def advance(self, seconds: float) -> dict:
        """Move a manual clock `seconds` emulated seconds on, firing every timer due on the
        way at its own time: Now, Fired. Returns once their events reached each subscriber."""
        return self.request("advance", Seconds=seconds)

    def calls(self) -> dict:
        """Calls: the emulator's own record of every call."""
        return self.request("calls")

    def users(self) -> dict:
        """Users: every user with their state."""
        return self.request("users")


def _error_message(body: bytes) -> str | None:
    try:
        return json.loads(body)["result"]["ErrorMessage"]
    except (ValueError, KeyError, TypeError):
        return None
