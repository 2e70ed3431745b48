"""The server as the user guide has it, end to end through `cc`: calls without caller ID,
colleagues on a call, what Away and Break let through, calls with several recordings."""

from __future__ import annotations

import pytest

from conftest import Emulator
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
    assert (row["number"], row["contact"], row["account"]) == ("anonymous", "", "")
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
