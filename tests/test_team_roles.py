"""The team store's roles (F58): who sees and changes what is enforced by PostgreSQL's
row-level security, so each test connects as a role and tries to cross the line. The
store is a real PostgreSQL server; `cc team` sets it up as an administrator would."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest

from daemon.team.schema import VERSION
from daemon.testing import CC

PASSWORDS = {"ivanova": "iv-pw", "petrenko": "pe-pw", "kovalenko": "ko-pw", "boss": "bo-pw"}


def team(postgres, *args, stdin: str | None = None, check: bool = True):
    """`cc team ARGS` as the administrator (the server's superuser)."""
    env = {**os.environ, "CC_TEAM_PASSWORD": postgres.PASSWORD,
           "CC_HOME": str(postgres.dir / "admin-profile")}
    done = subprocess.run([CC, "team", *args, "--url", postgres.url(password="")], env=env,
                          input=stdin, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"cc team {' '.join(args)} exited {done.returncode}: "
                             f"{done.stderr.strip()}")
    return done


@pytest.fixture
def store(postgres):
    """Sales (ivanova, petrenko; lead boss) and Support (kovalenko)."""
    team(postgres, "init")
    team(postgres, "add-team", "Sales", "--lead", "boss")
    team(postgres, "add-team", "Support")
    for login, group in (("ivanova", "Sales"), ("petrenko", "Sales"),
                         ("kovalenko", "Support")):
        team(postgres, "add-agent", login, "--team", group, "--password-stdin",
             stdin=PASSWORDS[login] + "\n")
    postgres.admin_sql(f"alter role boss password '{PASSWORDS['boss']}'")
    return postgres


def as_role(postgres, login: str) -> psycopg.Connection:
    return psycopg.connect(postgres.url(login, PASSWORDS[login]), autocommit=True)


def add_call(conn, call_id: str, counter: int, **extra) -> str:
    columns = {"server": "emu", "call_id": call_id, "counter": counter, "direction": "in",
               "started_at": "2026-11-25T09:00:00+00:00", "counter_number": "FORGED-1",
               **extra}
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    return conn.execute(f"insert into cc.calls ({names}) values ({marks}) "
                        "returning counter_number", list(columns.values())).fetchone()[0]


def visible(conn) -> set[str]:
    return {row[0] for row in conn.execute("select call_id from cc.calls")}


def test_init_makes_the_schema_once_and_says_so(postgres):
    first = team(postgres, "init")
    assert f"made the team store (schema version {VERSION}) with roles cc_agent, cc_lead " \
        "and cc_viewer" in first.stdout
    again = team(postgres, "init")
    assert again.stdout.strip() == f"the team store is up to date (schema version {VERSION})"


def test_an_agent_writes_only_its_own_calls_and_the_store_numbers_them(store):
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe:
        # The store makes the card number from the agent's prefix; a client's is ignored.
        assert add_call(iv, "1", 1) == "IVANOVA-000001"
        assert add_call(pe, "2", 1) == "PETRENKO-000001"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            add_call(iv, "3", 2, agent="petrenko")             # a call in another's name
        assert iv.execute("update cc.calls set subject = 'mine now' "
                          "where call_id = '2'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("update cc.calls set agent = 'petrenko' where call_id = '1'")
        assert iv.execute("delete from cc.calls where call_id = '2'").rowcount == 0
        assert visible(iv) == {"1"} and visible(pe) == {"2"}
        with pytest.raises(psycopg.errors.UniqueViolation):
            add_call(iv, "1", 5)                                # the same call twice


def test_agents_read_the_team_only_when_the_team_allows_it(store):
    with as_role(store, "ivanova") as iv, as_role(store, "petrenko") as pe, \
            as_role(store, "kovalenko") as ko:
        add_call(iv, "1", 1)
        add_call(pe, "2", 1)
        add_call(ko, "3", 1)
        assert visible(iv) == {"1"}
        team(store, "add-team", "Sales", "--lead", "boss", "--agents-see-team")
        assert visible(iv) == {"1", "2"} and visible(pe) == {"1", "2"}
        assert visible(ko) == {"3"}                             # Support stays apart
        assert iv.execute("update cc.calls set subject = 'x' "
                          "where call_id = '2'").rowcount == 0   # reading is not writing


def test_a_lead_reads_its_teams_calls_and_keeps_its_teams_rows_only(store):
    with as_role(store, "ivanova") as iv, as_role(store, "kovalenko") as ko, \
            as_role(store, "boss") as boss:
        add_call(iv, "1", 1)
        add_call(ko, "3", 1)
        assert visible(boss) == {"1"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            add_call(boss, "9", 1, agent="ivanova")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("delete from cc.calls")
        # The team table: the lead renames its agent's prefix, not Support's.
        assert boss.execute("update cc.agents set prefix = 'IV' "
                            "where login = 'ivanova'").rowcount == 1
        assert boss.execute("update cc.agents set prefix = 'KO' "
                            "where login = 'kovalenko'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            boss.execute("update cc.agents set team = 'Support' where login = 'ivanova'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("update cc.agents set prefix = 'ME' where login = 'ivanova'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            iv.execute("update cc.teams set agents_see_team = true")
        assert add_call(iv, "4", 2) == "IV-000002"


def test_a_role_outside_the_team_sees_nothing(store):
    store.admin_sql("create role stranger login password 'st-pw'")
    with as_role(store, "ivanova") as iv:
        add_call(iv, "1", 1)
    with psycopg.connect(store.url("stranger", "st-pw"), autocommit=True) as st:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            visible(st)


def test_a_wrong_password_and_a_missing_team_are_one_line_each(store):
    done = subprocess.run([CC, "team", "show", "--url", store.url("ivanova", "")],
                          env={**os.environ, "CC_TEAM_PASSWORD": "wrong",
                               "CC_HOME": str(store.dir / "p")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 8 and done.stderr.count("\n") == 1
    assert "refused ivanova's password" in done.stderr and "CC_TEAM_PASSWORD" in done.stderr
    missing = team(store, "add-agent", "melnyk", "--team", "Nope", "--password-stdin",
                   stdin="x\n", check=False)
    assert missing.returncode == 9
    assert missing.stderr == "cc: there is no team 'Nope': add it with `cc team add-team`\n"
    assert store.admin_sql("select count(*) from pg_roles where rolname = 'melnyk'") == "0"


def test_the_team_password_comes_from_the_environment_a_command_or_pgpass(monkeypatch):
    from daemon.team.connect import TeamError, check_url, password

    monkeypatch.delenv("CC_TEAM_PASSWORD", raising=False)
    assert password({"team.password_command": ""}) is None          # libpq reads ~/.pgpass
    assert password({"team.password_command": "echo from-the-vault"}) == "from-the-vault"
    with pytest.raises(TeamError, match=r"team.password_command failed \(exit 3\)"):
        password({"team.password_command": "exit 3"})
    monkeypatch.setenv("CC_TEAM_PASSWORD", "from-env")
    assert password({"team.password_command": "exit 3"}) == "from-env"
    assert "never in the URL" in check_url("postgresql://ivanova:secret@db/cc")
    assert check_url("postgresql://ivanova@db:5432/cc") is None
    assert check_url("mysql://ivanova@db/cc") is not None


def test_a_team_url_with_a_password_is_refused_without_showing_it(tmp_path):
    done = subprocess.run([CC, "config", "set", "team.url", "postgresql://iv:Sekr3t@db/cc"],
                          env={**os.environ, "CC_HOME": str(tmp_path)}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 8 and "Sekr3t" not in done.stderr
    assert "postgresql://iv:***@db/cc" in done.stderr and "CC_TEAM_PASSWORD" in done.stderr
    assert not (tmp_path / "config.toml").exists() or "Sekr3t" not in (
        tmp_path / "config.toml").read_text()


def test_one_message_for_a_team_store_at_another_schema_version():
    from daemon.team.schema import VERSION, mismatch

    assert mismatch(VERSION) is None
    assert mismatch(VERSION - 1).endswith("the administrator runs `cc team init`")
    assert mismatch(VERSION + 1) == (f"the team store is at schema version {VERSION + 1}, "
                                     f"newer than this cc knows ({VERSION}): upgrade cc")
