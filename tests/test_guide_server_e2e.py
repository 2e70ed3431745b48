"""The server as the user guide has it, end to end through `cc`: calls without caller ID,
colleagues on a call, what Away and Break let through, calls with several recordings."""

from __future__ import annotations

import pytest

from conftest import Emulator, wait_until
from daemon.testing import scenario_text

CONTACTS_CSV = "name,account,phones\nOlha Bondar,Acme Ltd,+380444557890\nNo Phone,Acme Ltd,\n"


@pytest.fixture
def scenario_emulator(tmp_path):
    """Start an emulator (manual clock) whose scenario's [server] table has extra lines."""
    started = []

    def make(*server_lines: str) -> Emulator:
        text = scenario_text(manual_clock=True).replace(
            "[server]\n", "[server]\n" + "".join(f"{line}\n" for line in server_lines), 1)
        workdir = tmp_path / f"emulator{len(started)}"
        workdir.mkdir()
        emulator = Emulator(workdir, scenario=text)
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


# ----- a call without caller ID (F32, guide §3.3.3) -------------------------------


@pytest.mark.parametrize("written", ["anonymous", ""])
def test_a_call_without_caller_id_is_logged_as_anonymous(scenario_emulator, agent_factory,
                                                         tmp_path, written):
    """However the server writes a withheld number, the log says anonymous."""
    emulator = scenario_emulator(f'anonymous_number = "{written}"')
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    (tmp_path / "c.csv").write_text(CONTACTS_CSV)
    agent.cc("contacts", "import", str(tmp_path / "c.csv"))
    call_id = str(emulator.admin("call-in", From="anonymous", To="101")["IDCall"])
    ringing = agent.wait_call_state("Ringing")
    assert (ringing["call_id"], ringing["number"], ringing["direction"]) == (
        call_id, "anonymous", "in")
    assert "anonymous" in agent.cc("status").stdout
    agent.cc("answer")
    agent.wait_call_state("Connected")
    emulator.admin("hangup", IDCall=call_id)
    row = agent.log_row(call_id, outcome="answered")
    # No contact is looked up for it, not even the one without a phone.
    assert (row["number"], row["contact"], row["account"]) == ("anonymous", None, None)
    assert not row["contact_candidates"]
    assert "anonymous" in agent.cc("log").stdout
    assert [r["number"] for r in agent.json("recent")] == ["anonymous"]
    assert agent.json("recent", "--received")[0]["number"] == "anonymous"

    done = agent.cc("redial", check=False)
    assert done.returncode == 9 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"cc: call {row['id']} came from an anonymous caller who withheld their number: "
        "there is no number to redial"]
    for args in (("recent", "--dial", "1"), ("dial", "anonymous")):
        done = agent.cc(*args, check=False)
        assert done.returncode == 9, args
        assert done.stderr.strip().splitlines() == [
            "cc: an anonymous caller withheld their number: there is no number to call"], args


# ----- what colleagues see, and what the agent's state lets through (F16, F17) ----

DIRECTORY = """name,position,department,extension,id_user,phones
Olena Ivanova,Senior agent,Sales,101,5001790109,+380441234567
Petro Petrenko,Agent,Support,102,5001790110,+380509876543
"""


def log_on_petrenko(emulator) -> int:
    """The colleague at extension 102 logs on with a client of their own."""
    return emulator.api("/user/logon/", Login="petrenko", Password="s3cret",
                        IDRole=1)["IDUser"]


def colleague_state(agent, name: str) -> str | None:
    state = {c["name"]: c for c in agent.json("who")}[name]["state"]
    return state and state["name"]


def test_a_colleague_on_a_call_shows_busy_until_it_ends(scenario_emulator, agent_factory,
                                                          tmp_path):
    emulator = scenario_emulator()
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    (tmp_path / "team.csv").write_text(DIRECTORY)
    agent.cc("who", "import", str(tmp_path / "team.csv"))
    petrenko = log_on_petrenko(emulator)
    wait_until(lambda: colleague_state(agent, "Petro Petrenko") == "available", 10,
               "Petrenko available")
    call_id = emulator.api("/call/make/", IDUser=petrenko, Number="+380441110001")["IDCall"]
    wait_until(lambda: colleague_state(agent, "Petro Petrenko") == "busy", 10,
               "Petrenko busy while dialling")
    emulator.advance(2)                              # the far end answers: still on the line
    assert emulator.call(call_id)["State"] == 21
    assert colleague_state(agent, "Petro Petrenko") == "busy"
    table = agent.cc("who", "petr").stdout
    assert "Petro Petrenko" in table and "Busy" in table
    emulator.api("/call/drop/", IDUser=petrenko, IDCall=call_id)
    wait_until(lambda: colleague_state(agent, "Petro Petrenko") == "available", 10,
               "Petrenko available after the call")


def test_the_agent_shows_busy_on_a_call_and_returns_to_their_state(scenario_emulator,
                                                                     agent_factory):
    emulator = scenario_emulator()
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    agent.cc("break", "lunch")
    agent.dial_answered("+380441110001", after=2)     # a break allows calling out
    wait_until(lambda: agent.status()["agent_state"]["name"] == "busy", 10, "Busy on the call")
    # The break's reason is the break's: the Busy of the call does not carry it.
    assert agent.cc("state").stdout.strip() == "agent ivanova (ext 101): Busy"
    agent.cc("hangup")
    wait_until(lambda: agent.status()["agent_state"]["name"] == "break", 10,
               "back on the break")
    assert agent.cc("state").stdout.strip() == "agent ivanova (ext 101): Break (lunch)"


def refused_call_in(agent, emulator, to: str = "101") -> str:
    """`cc emulator call-in` from outside, which the server refuses: its one line."""
    done = agent.cc("emulator", "call-in", "--from", "+380671112233", "--to", to, "--url",
                    emulator.url, check=False)
    assert done.returncode == 7 and done.stdout == "", done
    [line] = done.stderr.strip().splitlines()
    return line


def test_an_away_agent_gets_no_call_at_all(scenario_emulator, agent_factory):
    emulator = scenario_emulator("internal_calls_on_break = true")
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    petrenko = log_on_petrenko(emulator)
    agent.cc("away")
    assert "Extension 101 is not available (state 302)" in refused_call_in(agent, emulator)
    # A group call rings the colleague only; the colleague's own call fails as busy.
    group_call = emulator.admin("call-in", From="+380671112233", To="500")
    assert [emulator.call(i)["Extension"] for i in group_call["IDCalls"]] == ["102"]
    emulator.admin("hangup", IDCall=group_call["IDCall"])
    internal = emulator.api("/call/make/", IDUser=petrenko, Number="101")["IDCall"]
    emulator.advance(1)
    assert emulator.call(internal)["Reason"] == "Busy"
    assert agent.status()["calls"] == [] and agent.json("log") == []


def test_a_break_agent_gets_no_outside_call(scenario_emulator, agent_factory):
    emulator = scenario_emulator()
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    petrenko = log_on_petrenko(emulator)
    agent.cc("break", "lunch")
    assert "Extension 101 is not available (state 301)" in refused_call_in(agent, emulator)
    # By default the server lets no colleague's call through either.
    internal = emulator.api("/call/make/", IDUser=petrenko, Number="101")["IDCall"]
    emulator.advance(1)
    assert emulator.call(internal)["Reason"] == "Busy"
    assert agent.status()["calls"] == [] and agent.json("log") == []


def test_a_break_agent_takes_a_colleagues_call_when_the_server_allows_it(scenario_emulator,
                                                                         agent_factory):
    emulator = scenario_emulator("internal_calls_on_break = true")
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    petrenko = log_on_petrenko(emulator)
    agent.cc("break", "lunch")
    assert "Extension 101 is not available (state 301)" in refused_call_in(agent, emulator)
    internal = emulator.api("/call/make/", IDUser=petrenko, Number="101")["IDCall"]
    ringing = agent.wait_call_state("Ringing")
    assert (ringing["number"], ringing["direction"]) == ("102", "in")
    agent.cc("answer")
    agent.wait_call_state("Connected")
    assert emulator.call(internal)["State"] == 21
    agent.cc("hangup")
    agent.log_row(ringing["call_id"], outcome="answered")


# ----- a call with several connections, a recording each (F21, guide §3) ---------


def wav_seconds(path: str) -> float:
    import wave

    with wave.open(path) as wav:
        return wav.getnframes() / wav.getframerate()


def test_play_chooses_among_the_recordings_of_a_transferred_call(scenario_emulator,
                                                                 agent_factory):
    emulator = scenario_emulator()
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    petrenko = log_on_petrenko(emulator)
    call_id = str(emulator.admin("call-in", From="+380671112233", To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    emulator.advance(3)                             # it rings 3 s
    agent.cc("answer")
    agent.wait_call_state("Connected")
    emulator.advance(2)                             # 2 s with this agent
    agent.cc("transfer", "102", "--blind")
    target = next(c["IDCall"] for c in emulator.admin("calls")["Calls"]
                  if c["Extension"] == "102")
    emulator.api("/call/accept/", IDUser=petrenko, IDCall=target)
    emulator.advance(4)                             # 4 s with the colleague
    emulator.api("/call/drop/", IDUser=petrenko, IDCall=target)
    row = agent.log_row(call_id, durations_from="server")
    # This agent's figures are those of their own connection, not the colleague's.
    assert (row["wait_seconds"], row["talk_seconds"]) == pytest.approx((3, 2), abs=0.01)

    done = agent.cc("play", row["id"], "--no-play", check=False, input="")
    assert done.returncode == 9 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert "the call has 2 recordings (1: " in line and line.endswith("choose one with --pick N")
    paths = [agent.cc("play", row["id"], "--pick", n, "--no-play").stdout.strip()
             for n in (1, 2)]
    assert [wav_seconds(p) for p in paths] == [2, 4]
    assert all(p.endswith(".wav") for p in paths) and paths[0] != paths[1]
    chosen = agent.json("play", row["id"], "--pick", 2)
    assert chosen["path"] == paths[1]
    done = agent.cc("play", row["id"], "--pick", 3, "--no-play", check=False)
    assert done.returncode == 9 and "--pick 3: the call has 2 recording(s)" in done.stderr
