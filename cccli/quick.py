"""`cc quick`: the quick-dial list, a plain TOML file people and scripts edit alike."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from daemon import phone, profile
from daemon.wire import ErrorCode, WireError

from . import render
from .options import Json

app = typer.Typer(help="The quick-dial list: `cc dial @ALIAS` or `cc dial @N`.",
                  no_args_is_help=False, invoke_without_command=True)
HEADER = ("# Quick-dial list of cc: one [[entry]] per number (name, number, alias).\n"
          "# Edit it by hand or with `cc quick add|rm`; dial with `cc dial @ALIAS` or @N.\n")


def path():
    return profile.paths().config_file.with_name("quick.toml")


def entries() -> list[dict]:
    import tomllib

    file = path()
    if not file.exists():
        return []
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WireError(ErrorCode.CONFIG, f"{file}: {exc}") from None
    found = doc.get("entry", [])
    for n, entry in enumerate(found, 1):
        if not isinstance(entry, dict) or not entry.get("number"):
            raise WireError(ErrorCode.CONFIG, f"{file}: entry {n} has no number")
    return found


def lookup(key: str) -> str:
    """An alias, or a 1-based index into the list."""
    listed = entries()
    if key.isdigit():
        if 1 <= int(key) <= len(listed):
            return listed[int(key) - 1]["number"]
        raise WireError(ErrorCode.BAD_INPUT,
                        f"@{key}: the quick-dial list has {len(listed)} entries")
    for entry in listed:
        if entry.get("alias") == key:
            return entry["number"]
    known = ", ".join("@" + e["alias"] for e in listed if e.get("alias")) or "none"
    raise WireError(ErrorCode.BAD_INPUT, f"no quick-dial alias @{key} (aliases: {known}; "
                    "add one with `cc quick add NAME NUMBER --alias A`)")


@app.callback()
def show(ctx: typer.Context, json: Json = False) -> None:
    """List the quick-dial entries, numbered."""
    if ctx.invoked_subcommand is not None:
        return
    render.out(entries(), json, _listing)


def _listing(listed: list[dict]) -> str:
    lines = []
    for n, entry in enumerate(listed, 1):
        alias = f"@{entry['alias']}" if entry.get("alias") else ""
        lines.append(f"{n:>3}  {alias:<12} {entry['number']:<16} {entry.get('name', '')}")
    return "\n".join(lines) or \
        f"the quick-dial list is empty: cc quick add NAME NUMBER ({path()})"


def _save(doc) -> None:
    import tomlkit

    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(tomlkit.dumps(doc), encoding="utf-8")


def _doc():
    import tomlkit

    file = path()
    entries()      # refuse a broken file before touching it
    return tomlkit.parse(file.read_text(encoding="utf-8") if file.exists() else HEADER)


@app.command()
def add(name: Annotated[str, typer.Argument(help="Who this is.")],
        number: Annotated[str, typer.Argument(help="The number.")],
        alias: Annotated[Optional[str], typer.Option(help="A short name for @ALIAS.")] = None,
        json: Json = False) -> None:
    """Add an entry to the quick-dial list."""
    import tomlkit

    # A public number is kept in E.164, as the region reads it (8 (044) ... in UA is
    # +38044...); an extension or a number the region does not know, as typed.
    number = phone.e164(phone.clean(number), str(profile.load()["contacts.default_region"])) \
        or phone.clean(number)
    if alias and (alias.isdigit() or not alias.replace("-", "").replace("_", "").isalnum()):
        raise WireError(ErrorCode.BAD_INPUT, f"alias '{alias}': use letters, digits, - and _, "
                        "not only digits")
    if alias and any(e.get("alias") == alias for e in entries()):
        raise WireError(ErrorCode.BAD_INPUT, f"alias @{alias} is taken (see `cc quick`)")
    doc = _doc()
    if "entry" not in doc:
        doc["entry"] = tomlkit.aot()
    entry = {"name": name, "number": number, **({"alias": alias} if alias else {})}
    doc["entry"].append(entry)
    _save(doc)
    render.out(entry, json,
               f"added {len(doc['entry'])}: {name} {number}" + (f" @{alias}" if alias else ""))


@app.command()
def rm(key: Annotated[str, typer.Argument(help="The entry's @ALIAS (or ALIAS) or number N.")],
       json: Json = False) -> None:
    """Remove an entry from the quick-dial list."""
    key = key.lstrip("@")
    doc = _doc()
    listed = doc.get("entry", [])
    index = int(key) - 1 if key.isdigit() else next(
        (i for i, e in enumerate(listed) if e.get("alias") == key), None)
    if index is None or not 0 <= index < len(listed):
        raise WireError(ErrorCode.BAD_INPUT, f"no quick-dial entry '{key}' (see `cc quick`)")
    removed = listed[index]
    del listed[index]
    _save(doc)
    gone = {"alias": removed.get("alias", ""), "name": removed.get("name", ""),
            "number": removed["number"]}
    render.out(gone, json, f"removed {gone['name']} {gone['number']}")
