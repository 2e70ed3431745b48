"""`cc doctor`: check the profile, the daemon and the server, one line per check.

Each check is ok, WARN (it passes, but something needs a look), FAIL, or -- (not
checked: with no daemon the session and the event listener cannot be asked; a server
that tells no time leaves the clock unmeasured).
The exit code is 0 when nothing failed, 8 (configuration) when only the configuration
checks failed (config, password, sockets), and 1 when anything else failed. Nothing
here prints the password.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import asdict, dataclass

from daemon import profile
from daemon.wire import Exit, SessionStatus, WireError

from . import client, render
from .options import Json

CONFIG_CHECKS = ("config", "password", "sockets")
HTTP_TIMEOUT = 3.0
SKEW_LIMIT = 5.0            # seconds: more than this and call times in the log drift
QUIET_LOGGED_IN = 600.0     # seconds logged in without an event: the server cannot reach us


@dataclass
class Check:
    check: str
    ok: bool | None         # None: not checked
    detail: str
    warning: bool = False   # passes, but something needs a look (WARN)


def doctor(json: Json = False) -> None:
    """Check this profile, its daemon and the server: one line per check.

    The settings file, the password source, the socket directory (mode
    700), the daemon, the server session, the events URL (this daemon's
    listener answers on it, a server elsewhere can reach it, the last
    event came), the clock against the server's, the call log's
    integrity, the spool, the daemon's background tasks, retention (the
    last purge) and the team store. A check is ok, WARN (it passes, but
    look closer: e.g. no event in 10 minutes logged in), FAIL or -- (not
    checked). Exit code 0 when no check fails, 8 when only configuration
    checks (config, password, sockets) fail, 1 otherwise.
    """
    checks = run_checks()
    render.out([asdict(c) for c in checks], json, lambda _: _lines(checks))
    failed = [c.check for c in checks if c.ok is False]
    if failed:
        code = Exit.CONFIG if set(failed) <= set(CONFIG_CHECKS) else Exit.FAILED
        render.fail(f"{len(failed)} of {len(checks)} checks failed: {', '.join(failed)}", code)


def _lines(checks: list[Check]) -> str:
    width = max(len(c.check) for c in checks)
    return "\n".join(f"{_mark(c):<4}  {c.check:<{width}}  {c.detail}" for c in checks)


def _mark(check: Check) -> str:
    if check.ok is None:
        return "--"
    return "FAIL" if not check.ok else "WARN" if check.warning else "ok"


def http_get(url: str) -> tuple[int, bytes, str | None]:
    """(status, body, Date header) of a GET; raises OSError when nothing answers."""
    # Imported here: every `cc` run (and each Tab) imports this module, and these are slow.
    import http.client
    import urllib.error
    import urllib.request

    # Like the daemon's HTTP client, ignore http_proxy: see what the daemon sees.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=HTTP_TIMEOUT) as resp:
            return resp.status, resp.read(), resp.headers.get("Date")
    except urllib.error.HTTPError as exc:
        return exc.code, b"", exc.headers.get("Date")
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None
    except http.client.HTTPException as exc:
        raise OSError(f"not an HTTP answer ({type(exc).__name__})") from None


def run_checks() -> list[Check]:
    paths = profile.paths()
    checks, settings = [], None
    try:
        settings = config_check(paths.config_file, checks)
    except profile.ConfigError as exc:
        checks.append(Check("config", False, str(exc)))
    checks.append(password_check(settings))
    checks.append(sockets_check(paths.run_dir))
    status = None
    try:
        pong = client.request("ping", timeout=2)
        checks.append(Check("daemon", True, f"running (pid {pong['pid']}, up "
                                            f"{pong['uptime']:.0f} s)"))
        status = client.request("status", timeout=5)
    except WireError as exc:
        checks.append(Check("daemon", False, exc.message))
    checks.append(session_check(status))
    checks.append(events_check(status))
    checks.append(clock_check(settings))
    checks.append(database_check(paths.database))
    checks.append(spool_check(status, paths.spool))
    checks.append(tasks_check(status))
    checks.append(retention_check(status))
    checks.append(team_check(settings, status))
    return checks


def retention_check(status: dict | None) -> Check:
    """Retention (log.retention_days) and the last purge, as `cc status` shows them; a
    purge that could not reach the team store fails: its old calls are still there."""
    if status is None:
        return Check("retention", None, "not checked: the daemon is not running")
    retention = status.get("retention")
    if retention is None:
        return Check("retention", None, "not set (log.retention_days): calls are kept "
                                        "until removed")
    detail = render.retention_line(retention).removeprefix("retention").strip()
    last = retention.get("last") or {}
    if last.get("team_error"):
        return Check("retention", False, f"{detail}: purge again with `cc log purge "
                                         f"--older-than {last['days']}d` once it is back")
    return Check("retention", True, detail)


def team_check(settings: dict | None, status: dict | None) -> Check:
    """The team store (team.url): reachable with this profile's password source, at the
    schema version this cc knows, this agent in its team table; the outbox's length."""
    if not settings or not settings.get("team.url"):
        return Check("team", None, "not set (team.url): this machine's call log only")
    import psycopg

    from daemon.team import schema
    from daemon.team.connect import TeamError, connect, explain, password

    url = settings["team.url"]
    try:
        with connect(url, password(settings), autocommit=True) as conn:
            if (problem := schema.mismatch(schema.version(conn))) is not None:
                return Check("team", False, problem)
            row = conn.execute(f"select prefix, team from {schema.SCHEMA}.agents "
                               "where login = current_user").fetchone()
    except TeamError as exc:
        return Check("team", False, str(exc))
    except psycopg.Error as exc:    # the store refused, or went away
        return Check("team", False, explain(exc, url))
    if row is None:
        return Check("team", False, "this login is not in the team table: the administrator "
                                    "adds it with `cc team add-agent LOGIN --team NAME`")
    prefix, team = row
    detail = f"team {team}, card numbers {prefix}-…"
    if status is None:
        return Check("team", True, f"{detail}; the daemon is not running")
    view = status.get("team") or {}
    for trouble in ("last_error", "warning"):
        if view.get(trouble):
            return Check("team", False, f"{detail}; the daemon: {view[trouble]}")
    synced = render.local_time(view.get("last_sync")) or "never"
    return Check("team", True, f"{detail}; {view.get('outbox', 0)} call(s) in the outbox, "
                               f"last sync {synced}")


def config_check(where, checks: list[Check]) -> dict | None:
    """The settings file: it parses, every value is one its setting accepts, and every
    name in it is a setting (a misspelt one would be ignored). The settings, when good."""
    settings, problems, unknown = profile.read(where)
    if unknown:
        problems.append(f"{where}: no setting is called {', '.join(unknown)} (misspelt? "
                        "`cc config get` lists every setting)")
    if problems:
        checks.append(Check("config", False, "; ".join(problems)))
        return None
    checks.append(Check("config", True, f"{where}: every setting is valid" if where.exists()
                        else f"{where} does not exist: the defaults are in use"))
    return settings


def tasks_check(status: dict | None) -> Check:
    if status is None:
        return Check("tasks", None, "not checked: the daemon is not running")
    failed = status.get("task_failures", [])
    if failed:
        return Check("tasks", False, "; ".join(render.task_failure(t) for t in failed))
    return Check("tasks", True, "no background task of the daemon has failed")


def spool_check(status: dict | None, spool) -> Check:
    """Calls the call log could not take yet: the daemon's count, or the file's own."""
    if status is not None:
        waiting, error = status.get("waiting_calls", 0), status.get("store_error")
    else:
        from daemon.spool import waiting as read_spool

        try:
            waiting, error = len(read_spool(spool)), "the daemon is not running"
        except FileNotFoundError:
            waiting = 0
        except OSError as exc:
            return Check("spool", False, f"{spool}: {exc.strerror}")
    if waiting:
        return Check("spool", False, f"{waiting} call(s) wait in {spool} for the call log "
                                     f"({error}); they are written when it can take them")
    return Check("spool", True, "every call is in the call log")


def password_check(settings: dict | None) -> Check:
    if settings is None:
        return Check("password", None, "not checked: the config file has errors")
    if os.environ.get("CC_PASSWORD"):
        source = "CC_PASSWORD"
    elif settings.get("server.password_command"):
        source = "server.password_command"
    else:
        source = "server.password in the config file"
    try:
        profile.resolve_password(settings)
    except profile.ConfigError as exc:
        return Check("password", False, str(exc))
    return Check("password", True, f"from {source}")


def sockets_check(run_dir) -> Check:
    try:
        info = run_dir.stat()
    except FileNotFoundError:
        return Check("sockets", True, f"{run_dir} does not exist yet: the daemon makes it "
                                      "(mode 700) when it starts")
    except OSError as exc:
        return Check("sockets", False, f"{run_dir}: {exc.strerror}")
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.getuid():
        return Check("sockets", False, f"{run_dir} belongs to uid {info.st_uid}, not to you: "
                                       "set CC_HOME to a directory of your own")
    if mode & 0o077:
        return Check("sockets", False, f"{run_dir} is open to other users (mode {mode:o}): "
                                       f"run `chmod 700 {run_dir}`")
    return Check("sockets", True, f"{run_dir} is private (mode {mode:o})")


def session_check(status: dict | None) -> Check:
    if status is None:
        return Check("session", None, "not checked: needs the daemon")
    if status.get("session") == SessionStatus.LOGGED_IN:
        ext = f" (ext {status['extension']})" if status.get("extension") else ""
        return Check("session", True, f"logged in as {status.get('login')}{ext} at "
                                      f"{status.get('server')}")
    why = f": {status['last_error']}" if status.get("last_error") else ""
    return Check("session", False, f"{status.get('session')} at {status.get('server')}{why} "
                                   "(log in with `cc login`)")


def events_check(status: dict | None) -> Check:
    """The events URL the daemon advertises: this daemon's listener answers on it, a server
    on another machine can reach it (no loopback or link-local address), and when the
    last event came (none in QUIET_LOGGED_IN logged in: the server does not reach it)."""
    from daemon.reach import PROBE

    if status is None:
        return Check("events", None, "not checked: needs the daemon")
    url, view = status.get("events_url"), status.get("events") or {}
    if not url:
        return Check("events", False, "the daemon reports no event listener")
    probe = f"{url.rstrip('/')}{PROBE}"
    try:
        code, body, _ = http_get(probe)
    except OSError as exc:
        if view.get("public_url"):     # behind NAT the public address may not loop back
            return Check("events", True, f"cannot check {url} from this machine ({exc}); "
                         f"from another one, `curl {probe}` must print 'cc event listener "
                         f"{view.get('listener_id')}'", warning=True)
        return Check("events", False, f"nothing answers at {url}: {exc} (see "
                                      "events.listen_host and events.listen_port)")
    if code != 200 or body.decode(errors="replace").split() != [
            "cc", "event", "listener", str(view.get("listener_id"))]:
        return Check("events", False, f"{url} answers HTTP {code}, but not as this daemon's "
                                      "listener: another program or machine is behind it "
                                      "(check events.listen_port and events.public_url)")
    if view.get("remote_server") and view.get("local_only"):
        return Check("events", False, view["warnings"][0])
    where = (f"{view['local_only']} for a server on this machine" if view.get("local_only")
             else f"bound to {view.get('bind')}, an address other machines can reach")
    detail = f"events URL {url} answers (this daemon's listener, {where})"
    warnings = [w for w in view.get("warnings", ())]
    last, since = view.get("last_event_ago"), view.get("logged_in_for")
    if last is not None:
        heard = f"the last event came {_ago(last)} ago"
    elif since is None:
        heard = "no event yet (not logged in)"
    elif since >= QUIET_LOGGED_IN:
        port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[-1]
        warnings.append(f"no event in {_ago(since)} logged in: the server does not reach "
                        f"{url} (a firewall closing port {port}, a NAT not forwarding it, or "
                        "a server eventsURL other than this one: give its administrator "
                        "this URL)")
        heard = "no event yet"
    else:
        heard = f"no event yet, logged in {_ago(since)} ago"
    return Check("events", True, "; ".join([detail, *warnings, heard]),
                 warning=bool(warnings))


def _ago(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def clock_check(settings: dict | None) -> Check:
    """Against the emulator's clock, or else the Date header of the server's answer."""
    from daemon.emulator.admin import Admin, read_clock

    if settings is None:
        return Check("clock", None, "not checked: the config file has errors")
    base = f"http://{settings['server.host']}:{settings['server.port']}"
    before = time.time()
    try:
        # The emulator's clock; a real server answers 404 or 406, with its Date header.
        _, body, date = http_get(Admin(base).url_for("clock"))
    except OSError as exc:
        return Check("clock", None, f"not measurable: cannot reach {base} ({exc})")
    here = (before + time.time()) / 2
    server_now, scale, manual = read_clock(body) or (None, 1.0, False)
    if manual:
        return Check("clock", None, "not measurable: the emulator's clock is manual (moved "
                                    "by a test)")
    if scale != 1:
        return Check("clock", None, f"not measurable: the emulator runs {scale:g} times "
                                    "faster than real time")
    source = "the emulator's clock"
    if server_now is None:
        if not date:
            return Check("clock", None, f"not measurable: {base} gives no time")
        from email.utils import parsedate_to_datetime

        try:
            server_now = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return Check("clock", None, f"not measurable: {base} sent Date '{date}'")
        source, here = "the server's Date header, to 1 s", int(here)
    skew = server_now - here
    detail = f"the server is {abs(skew):.1f} s {'ahead' if skew >= 0 else 'behind'} ({source})"
    if abs(skew) > SKEW_LIMIT:
        return Check("clock", False, f"{detail}: call times will be off; synchronise this "
                                     "machine's clock (NTP)")
    return Check("clock", True, detail)


def database_check(database) -> Check:
    import sqlite3

    from daemon.store import damaged_logs, open_log

    try:
        conn = open_log(database, read_only=True, timeout=5.0)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except FileNotFoundError:
        return Check("database", True, f"{database} does not exist yet: the daemon makes it")
    except OSError as exc:
        return Check("database", False, f"{database}: {exc.strerror}")
    except sqlite3.Error as exc:
        return Check("database", False, f"{database}: {exc}")
    if rows != ["ok"]:
        return Check("database", False, f"{database} is damaged: {'; '.join(rows[:3])} "
                                        "(restart the daemon: it sets the log aside and "
                                        "starts a fresh one)")
    aside = damaged_logs(database)
    kept = (f"; {len(aside)} damaged log(s) set aside, the last {aside[-1]} (read it with "
            f"`cc log --database {aside[-1]}`)") if aside else ""
    return Check("database", True, f"{database}: integrity ok{kept}")
