"""The values a shell cannot know by itself, for Tab completion.

Each function is named by a command's parameter as its `autocompletion`; scripts/gen_docs.py
records which in cccli/tabtree.py, and cccli/tab.py calls it at a Tab (Typer never runs
them). Values from files of the profile (quick.toml, filters.toml, the team filters' copy,
the settings) are read here; those of the daemon (log ids, recent numbers, contacts,
colleagues, calls) are asked over its socket with a short deadline. Any failure completes
nothing, silently. Imports only the standard library and daemon.profile (and the client,
to ask): a Tab must answer at once.
"""

from __future__ import annotations

from daemon import profile

LIVE_TIMEOUT = 0.3      # seconds: a Tab must never hang on a stuck daemon
HELP_WIDTH = 60         # a longer description is cut: fish reads a wrap as a value
LOG_IDS = 20            # the newest calls offered by id
RECENT = 20             # recent numbers offered to dial


class _Files(list):
    """The answer that lets the shell complete file names itself."""


FILES = _Files()


def _ask(cmd: str, **args):
    try:
        from . import client

        return client.request(cmd, timeout=LIVE_TIMEOUT, **args)
    except Exception:   # no daemon, no profile, a slow or odd answer: nothing to offer
        return None


def _asked(cmd: str, **args) -> list:
    found = _ask(cmd, **args)
    return list(found) if isinstance(found, list) else []


def _starting(items, incomplete: str) -> list[tuple[str, str]]:
    return [(value, help if len(help) <= HELP_WIDTH else help[:HELP_WIDTH - 3] + "...")
            for value, help in items if value.startswith(incomplete)]


def colleagues(incomplete: str) -> list[tuple[str, str]]:
    """Colleagues' names from the daemon's directory, with numbers and state as help."""
    people = []
    for person in _asked("who", query=""):
        state = (person.get("state") or {}).get("title") or ""
        numbers = ", ".join(person.get("phones") or ())
        people.append((person["name"], "  ".join(x for x in (numbers, state) if x)))
    return _starting(people, incomplete)


def who_words(ctx, incomplete: str) -> list[tuple[str, str]]:
    """`cc who`: a colleague's name, or `import`; after `import`, the shell's own files."""
    words = ctx.params.get("words") or []
    if words[:1] == ["import"]:
        return FILES
    extra = [("import", "replace the directory with a CSV file")] if not words else []
    return _starting(extra, incomplete) + colleagues(incomplete)


def transfer_targets(incomplete: str) -> list[tuple[str, str]]:
    """`cc transfer`: a colleague's name, `complete` or `cancel` (cccli.calls)."""
    actions = [("complete", "join the caller and the target"),
               ("cancel", "hang up on the target, resume the caller")]
    return _starting(actions, incomplete) + colleagues(incomplete)


def call_ids(incomplete: str) -> list[tuple[str, str]]:
    """`--call`: the ids of the active calls, with number and line state as help."""
    calls = []
    for call in _asked("calls"):
        calls.append((str(call["call_id"]), f"{_arrow(call.get('direction'))} "
                      f"{call.get('number', '')}  {call.get('state_name', '')}"))
    return _starting(calls, incomplete)


def log_formats(incomplete: str) -> list[tuple[str, str]]:
    """`cc log --format`: the named formats (a template can be typed instead)."""
    from daemon.export import FORMATS

    return _starting([(name, "") for name in FORMATS], incomplete)


def outcomes(incomplete: str) -> list[tuple[str, str]]:
    """`cc log --outcome`: how a call may end."""
    from daemon.wire import OUTCOMES

    return _starting([(name, "") for name in OUTCOMES], incomplete)


LOG_ACTIONS = (("show", "one call's every field"), ("edit", "change a call's card"),
               ("rm", "remove a call"), ("purge", "remove calls older than an age"),
               ("save", "keep the filters given under a name"),
               ("saved", "the saved filters"), ("forget", "delete a saved filter"),
               ("group", "add calls to a static group, take them out, delete it"),
               ("groups", "the static groups"),
               ("history", "who changed a call's card, and when"),
               ("attach", "keep copies of files with a call"),
               ("files", "the files kept with a call"),
               ("open", "open a file kept with a call"),
               ("detach", "remove a file kept with a call"))
FILE_WORDS = ("attach", "files", "open", "detach")


def log_words(ctx, incomplete: str) -> list[tuple[str, str]]:
    """`cc log`: an action or a saved filter; after `forget`, a saved filter; after
    `show|edit|rm|history`, a call's id; after `group add|rm|delete`, a static group, then ids."""
    words = ctx.params.get("words") or []
    if not words:
        return _starting(LOG_ACTIONS, incomplete) + _starting(
            [(name, "saved filter") for name in _saved_filters()], incomplete)
    if words == ["forget"]:
        return _starting([(name, "") for name in _saved_filters()], incomplete)
    if words == ["group"]:
        return _starting([("add", "put calls in a group"), ("rm", "take calls out"),
                          ("delete", "delete a group")], incomplete)
    if len(words) == 2 and words[0] == "group":
        return _starting([(g["name"], f"{g['calls']} call(s)") for g in _asked("log_groups")],
                         incomplete)
    if words[0] in FILE_WORDS and len(words) >= 2:
        return _file_words(words, incomplete)
    if words[0] in ("show", "edit", "rm", "history", *FILE_WORDS) and len(words) == 1 or \
            words[0] == "group" and words[1] in ("add", "rm") and len(words) >= 3:
        return log_ids(incomplete)
    return []


def _file_words(words: list[str], incomplete: str):
    """After `attach ID`: the shell's file names; after `open|detach ID`: the call's
    files, numbered."""
    if words[0] == "attach":
        return FILES
    if words[0] in ("open", "detach") and len(words) == 2 and words[1].isdigit():
        return _starting([(str(f["n"]), f"{f['name']}") for f in
                          _asked("log_files", log_id=int(words[1]))], incomplete)
    return []


def _saved_filters() -> list[str]:
    """This profile's filters, then the team's as last read (never the store itself: Tab
    must answer at once, the store up or not)."""
    import tomllib

    names = []
    try:
        path = profile.paths().config_file.with_name("filters.toml")
        names = [name for name, entry in tomllib.loads(path.read_text(encoding="utf-8")
                                                       ).items() if isinstance(entry, dict)]
    except Exception:   # none yet, or a broken file: `cc log saved` says why, Tab stays quiet
        pass
    return names + [name for name in _team_filters() if name not in names]


TEAM_FILTERS = "team-filters.json"      # cccli.teamfilters.CACHE (which imports Typer)


def _team_filters() -> list[str]:
    """The team's filters as last read from the team store (cccli/teamfilters.py)."""
    import json

    try:
        data = json.loads((profile.paths().data_dir / TEAM_FILTERS).read_text(
            encoding="utf-8"))
        return [e["name"] for e in data["filters"]
                if isinstance(e, dict) and isinstance(e.get("name"), str)]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def periods(incomplete: str) -> list[tuple[str, str]]:
    """`cc log --period`: the named periods (FROM..TO can be typed instead)."""
    from daemon.periods import NAMES   # stdlib only, like daemon.profile

    return _starting([(name, "") for name in NAMES], incomplete)


def setting_keys(incomplete: str) -> list[tuple[str, str]]:
    """`cc config get|set KEY`: every setting, with its comment as help."""
    return _starting([(s.key, s.help) for s in profile.SETTINGS], incomplete)


def break_reasons(incomplete: str) -> list[tuple[str, str]]:
    """`cc break REASON`: the regulated reasons from this profile's settings."""
    from daemon.states import StateMap

    try:
        reasons = StateMap(profile.load()).reasons
    except Exception:   # a broken config file: `cc doctor` says why, Tab stays quiet
        return []
    return _starting([(reason, "") for reason in reasons], incomplete)


def _arrow(direction: str | None) -> str:
    return "->" if direction == "out" else "<-"     # as cccli.render.arrow


def _when(iso: str | None) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


def log_ids(incomplete: str) -> list[tuple[str, str]]:
    """`cc log show|edit|rm ID`, `cc redial ID`: the newest calls' ids, each with its
    direction, number, contact, outcome and start as help."""
    page = _ask("log", limit=LOG_IDS)
    rows = page.get("rows") if isinstance(page, dict) else None
    found = []
    for row in rows or ():
        who = "  ".join(x for x in (row.get("number") or "", row.get("contact") or "",
                                    row.get("outcome") or "", _when(row.get("started_at")))
                        if x)
        found.append((str(row["id"]), f"{_arrow(row.get('direction'))} {who}"))
    return _starting(found, incomplete)


def _quick() -> list[dict]:
    """The quick-dial list (cccli/quick.py keeps it; read here without Typer)."""
    import tomllib

    try:
        path = profile.paths().config_file.with_name("quick.toml")
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("entry", [])
    except Exception:   # none yet, or a broken file: `cc quick` says why, Tab stays quiet
        return []
    return [e for e in entries if isinstance(e, dict) and e.get("number")]


def dial_targets(incomplete: str) -> list[tuple[str, str]]:
    """`cc dial`: the quick-dial entries as @ALIAS (@N where an entry has no alias), then
    the recent numbers, with who and when as help."""
    quick = []
    for n, entry in enumerate(_quick(), 1):
        key = f"@{entry['alias']}" if entry.get("alias") else f"@{n}"
        quick.append((key, "  ".join(str(x) for x in (entry.get("name"), entry["number"])
                                     if x)))
    if incomplete.startswith("@"):
        return _starting(quick, incomplete)
    recent = []
    for entry in _asked("recent", kind="all", limit=RECENT):
        recent.append((entry["number"], "  ".join(x for x in (
            _arrow(entry.get("direction")), entry.get("contact") or "",
            entry.get("outcome") or "", _when(entry.get("started_at"))) if x)))
    return _starting(quick + recent, incomplete)


def contact_names(incomplete: str) -> list[tuple[str, str]]:
    """`--contact`: the contacts whose name starts so (any case), with their account."""
    found = _asked("contact_names", prefix=incomplete, limit=50)
    return [(c["name"], c.get("account") or "") for c in found
            if c["name"].casefold().startswith(incomplete.casefold())]
