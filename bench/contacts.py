"""The team's contacts: how fast an agent's directory joins the team store and how fast a
colleague's daemon takes it.

One agent's local log with CONTACTS contacts (two numbers each, one account in ten) joins
a team store on a throw-away PostgreSQL server (daemon.testing.Postgres, set up with
`cc team`); the daemon's own sync (daemon/team/directory_sync.py) sends them all, as at
the first join; then a colleague's empty log pulls them, as a new agent's daemon does.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from daemon import clock as clocks
from daemon.contacts import Contacts
from daemon.store import Store
from daemon.team.directory_sync import DirectorySync, outbox_length
from daemon.testing import Postgres

from .common import CC, ENV, note, on_cleanup, standalone, verdict

CONTACTS = 10_000
TARGET = 1_000          # records a second, each way


def run() -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="cc-bench-contacts-"))
    on_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    server = Postgres()
    on_cleanup(server.close)
    env = {**ENV, "CC_TEAM_PASSWORD": server.PASSWORD, "CC_HOME": str(folder / "admin")}
    for args, stdin in ((("init",), None), (("add-team", "Sales"), None),
                        (("add-agent", "ivanova", "--team", "Sales", "--prefix", "IVA",
                          "--password-stdin"), "bench-pw\n"),
                        (("add-agent", "petrenko", "--team", "Sales", "--prefix", "PET",
                          "--password-stdin"), "bench-pw\n")):
        subprocess.run([CC, "team", *args, "--url", server.url(password="")], env=env,
                       input=stdin, text=True, check=True, capture_output=True, timeout=60)
    os.environ["CC_TEAM_PASSWORD"] = "bench-pw"
    text = "name,account,phones\n" + "".join(
        f"Contact {n},{'Account ' + str(n // 10) if n % 10 == 0 else ''},"
        f"+38050{n:07};044{n:07}\n" for n in range(CONTACTS))
    sender = Store(folder / "ivanova.db")
    asyncio.run(Contacts(sender, "UA").import_file(lambda: (Path("bench.csv"), text)))
    records = CONTACTS + CONTACTS // 10
    note(f"{CONTACTS:,} contacts ({records:,} records with the accounts) in the local log")
    push = asyncio.run(_sync(sender, "ivanova", server, lambda s: outbox_length(s.db.conn)
                             == 0 and _meta(s, "directory") == "on"))
    receiver = Store(folder / "petrenko.db")
    pull = asyncio.run(_sync(receiver, "petrenko", server, lambda s: s.db.execute(
        "select count(*) from contacts").fetchone()[0] == CONTACTS))
    phones = receiver.db.execute("select count(*) from phones").fetchone()[0]
    sender.close()
    receiver.close()
    ok = records / push >= TARGET and records / pull >= TARGET and phones == 2 * CONTACTS
    return [f"team contacts, one agent's {CONTACTS:,} contacts joining the team store: "
            f"sent in {push:.1f} s ({records / push:,.0f} records/s), a colleague's first "
            f"pull {pull:.1f} s ({records / pull:,.0f} records/s), {phones:,} numbers taken "
            f"(target >= {TARGET:,}/s each way, none lost) {verdict(ok)}"]


SEARCHED = 20_000
SEARCH_TARGET = 0.1     # seconds a search of every contact may take
SURNAMES = ("Бондар", "Іваненко", "Шевчук", "Їжакевич", "Ґудзь", "Bondar", "Koval")
NAMES = ("Ольга", "Ігор", "Євген", "Мар’яна", "Taras", "Olha")


def search() -> list[str]:
    """`cc contacts QUERY` on 20,000 contacts (one account in ten): a Cyrillic query in
    lower case (GLOB with each letter's cases), and an ASCII one (LIKE), as the daemon
    runs them; the figure is the daemon's search, rows made into contacts included."""
    folder = Path(tempfile.mkdtemp(prefix="cc-bench-search-"))
    on_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    text = "name,account,phones\n" + "".join(
        f"{SURNAMES[n % 7]}{n} {NAMES[n % 6]},{'ТОВ Компанія ' + str(n) if n % 10 == 0 else ''}"
        f",+38050{n:07}\n" for n in range(SEARCHED))
    store = Store(folder / "calls.db")
    on_cleanup(store.close)
    contacts = Contacts(store, "UA")
    asyncio.run(contacts.import_file(lambda: (Path("bench.csv"), text)))
    lines, ok = [], True
    for query in ("бонд", "bond", "мар'яна"):
        found = len(contacts.search(query))
        times = []
        for _ in range(5):
            started = time.perf_counter()
            contacts.search(query)
            times.append(time.perf_counter() - started)
        best = min(times)
        ok = ok and best <= SEARCH_TARGET
        lines.append(f"contact search '{query}' in {SEARCHED:,} contacts: {best * 1000:.0f} ms "
                     f"({found:,} found, best of 5; target <= {SEARCH_TARGET * 1000:.0f} ms) "
                     f"{verdict(best <= SEARCH_TARGET)}")
    return lines


def _meta(store: Store, key: str) -> str | None:
    row = store.db.execute("select value from log_meta where key = ?", [key]).fetchone()
    return row[0] if row else None


async def _sync(store: Store, login: str, server: Postgres, done) -> float:
    settings = {"team.url": server.url(login, ""), "team.password_command": ""}
    sync = DirectorySync(store, Contacts(store, "UA"), settings, clocks.WallClock())
    started = time.perf_counter()
    task = asyncio.create_task(sync.run())
    try:
        while not done(store):
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        return time.perf_counter() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sync.close()


if __name__ == "__main__":
    standalone(run)
