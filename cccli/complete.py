"""Shell completion: the shells `cc` answers, and the values a shell cannot know by itself.

The scripts in completions/ (made by scripts/gen_docs.py) call `cc` back with
`_CC_COMPLETE=complete_bash|complete_zsh|complete_fish` on every Tab. Typer answers that
only for shells it has registered, and it registers them only for apps built with
`add_completion=True` (which would add --install-completion to `cc --help`), so
importing this module registers them.

Commands, options and choices come from the Click tree. The callbacks below are for
parameters whose values live elsewhere: in the settings, or in the running daemon,
which is asked with a short deadline; any failure completes nothing, silently.
"""

from __future__ import annotations

from typer.completion import completion_init

from daemon import profile

completion_init()

LIVE_TIMEOUT = 0.3      # seconds: a Tab must never hang on a stuck daemon
HELP_WIDTH = 60         # Typer wraps longer help at 80 columns; fish reads a wrap as a value


def _ask(cmd: str, **args) -> list:
    try:
        from . import client

        return list(client.request(cmd, timeout=LIVE_TIMEOUT, **args) or [])
    except Exception:   # no daemon, no profile, a slow or odd answer: nothing to offer
        return []


def _starting(items, incomplete: str) -> list[tuple[str, str]]:
    return [(value, help if len(help) <= HELP_WIDTH else help[:HELP_WIDTH - 3] + "...")
            for value, help in items if value.startswith(incomplete)]


def colleagues(incomplete: str) -> list[tuple[str, str]]:
    """Colleagues' names from the daemon's directory, with numbers and state as help."""
    people = []
    for person in _ask("who", query=""):
        state = (person.get("state") or {}).get("title") or ""
        numbers = ", ".join(person.get("phones") or ())
        people.append((person["name"], "  ".join(x for x in (numbers, state) if x)))
    return _starting(people, incomplete)


def who_words(ctx, incomplete: str) -> list[tuple[str, str]]:
    """`cc who`: a colleague's name, or `import`; after `import`, the shell's own files."""
    words = ctx.params.get("words") or []
    if words[:1] == ["import"]:
        return []
    extra = [("import", "replace the directory with a CSV file")] if not words else []
    return _starting(extra, incomplete) + colleagues(incomplete)


def transfer_targets(incomplete: str) -> list[tuple[str, str]]:
    """`cc transfer`: a colleague's name, `complete` or `cancel` (cccli.calls)."""
    actions = [("complete", "join the caller and the target"),
               ("cancel", "hang up on the target, resume the caller")]
    return _starting(actions, incomplete) + colleagues(incomplete)


def call_ids(incomplete: str) -> list[tuple[str, str]]:
    """`--call`: the ids of the active calls, with number and line state as help."""
    from .render import arrow

    calls = []
    for call in _ask("calls"):
        calls.append((str(call["call_id"]), f"{arrow(call.get('direction'))} "
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
               ("groups", "the static groups"))


def log_words(ctx, incomplete: str) -> list[tuple[str, str]]:
    """`cc log`: an action or a saved filter; after `forget`, a saved filter; after
    `group add|rm|delete`, a static group."""
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
        return _starting([(g["name"], f"{g['calls']} call(s)") for g in _ask("log_groups")],
                         incomplete)
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
    from .teamfilters import cached

    return names + [e["name"] for e in cached()[0] if e["name"] not in names]


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
