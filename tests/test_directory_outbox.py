"""The local side of the team's contacts (store.py `_v12`): every contact and account has
a stable uid, old ones included, and every local change to one or to its numbers queues
it for the team store in the same transaction; a change pulled from the store does not."""

from __future__ import annotations

import re

from daemon import store as store_module
from daemon.contacts import Contacts
from daemon.store import Store

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def queued(store) -> list[tuple]:
    return [tuple(r) for r in store.db.execute("select kind, uid from directory_outbox "
                                               "order by seq")]


def uid_of(store, table: str, name: str) -> str:
    return store.db.execute(f"select uid from {table} where name = ?", [name]).fetchone()[0]


def test_contacts_and_accounts_logged_before_get_a_uid_each(tmp_path, monkeypatch):
    path = tmp_path / "calls.db"
    before = store_module.MIGRATIONS[:store_module.MIGRATIONS.index(store_module._v12)]
    monkeypatch.setattr(store_module, "MIGRATIONS", before)
    old = Store(path)
    Contacts(old, "UA").add("Olha Bondar", "Acme Ltd", [("+380501112233", "mobile")])
    Contacts(old, "UA").add("Ivan Bondar", "Acme Ltd")
    old.close()
    monkeypatch.undo()
    store = Store(path)
    uids = [r[0] for r in store.db.execute("select uid from contacts union all "
                                           "select uid from accounts")]
    assert len(uids) == 3 == len(set(uids)) and all(UUID.fullmatch(u) for u in uids)
    # Nothing is queued before the agent joins a team store.
    Contacts(store, "UA").add("Maria Koval")
    assert queued(store) == [] and UUID.fullmatch(uid_of(store, "contacts", "Maria Koval"))
    store.close()


def test_every_local_change_queues_its_record_and_nothing_pulled_does(tmp_path):
    store = Store(tmp_path / "calls.db")
    contacts = Contacts(store, "UA")
    store.db.execute("insert into log_meta (key, value) values ('directory', 'on')")
    olha = contacts.add("Olha Bondar", "Acme Ltd", [("+380501112233", "mobile")])
    olha_uid, acme_uid = uid_of(store, "contacts", "Olha Bondar"), \
        uid_of(store, "accounts", "Acme Ltd")
    assert set(queued(store)) == {("contact", olha_uid), ("account", acme_uid)}
    store.db.execute("delete from directory_outbox")
    contacts.add_number("Olha", "0441112233", "work")
    contacts.add_account_number("Acme", "0442223344", "work")
    contacts.edit("Olha", name="Olha Koval")
    contacts.remove("Olha Koval")
    assert set(queued(store)) == {("contact", olha_uid), ("account", acme_uid)}
    assert queued(store)[-1] == ("contact", olha_uid)
    assert olha["id"] not in [r[0] for r in store.db.execute("select id from contacts")]
    # Applying what the store sent: the daemon says so in log_meta for the transaction.
    store.db.execute("delete from directory_outbox")
    with store.db.conn:
        store.db.execute("update log_meta set value = 'applying' where key = 'directory'")
        store.db.execute("insert into contacts (uid, name) values "
                         "('0d9c5b43-3b1f-4c5e-9a2f-6f1e2d3c4b5a', 'From a colleague')")
        store.db.execute("update accounts set name = 'Acme' where uid = ?", [acme_uid])
        store.db.execute("update log_meta set value = 'on' where key = 'directory'")
    assert queued(store) == []
    store.close()


def test_the_outbox_triggers_come_back_when_a_migration_drops_them(tmp_path):
    """A later migration that rebuilds a table drops its triggers: the next open makes
    them again, as the calls' outbox triggers."""
    store = Store(tmp_path / "calls.db")
    store.db.execute("drop trigger contacts_directory_update")
    store.close()
    store = Store(tmp_path / "calls.db")
    store.db.execute("insert into log_meta (key, value) values ('directory', 'on')")
    Contacts(store, "UA").add("Olha Bondar")
    assert queued(store) == [("contact", uid_of(store, "contacts", "Olha Bondar"))]
    store.close()
