"""Hooks on call events (F9, F38), recordings (F21) and the knowledge base (F37)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import wait_until

ANSWERS = "+380441110001"
# Real seconds a hook may run: the recording hooks (a Python start) must fit in it on a busy
# machine; the hanging one is killed after it. The daemon times hooks on the wall clock.
HOOK_TIMEOUT = 2.0


@pytest.fixture
def emulator(emulator_factory):
    """Calls ring until the test answers or rejects them: time stands still."""
    return emulator_factory(manual_clock=True)


def test_hooks_get_the_call_as_json_and_a_hanging_hook_is_killed(emulator, agent_factory,
                                                                  tmp_path):
    out = tmp_path / "hooks.jsonl"
    script = tmp_path / "record.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')\n")
    record = f"{sys.executable} {script}"
    agent = agent_factory(emulator, **{
        "hooks.on_ring": record, "hooks.on_answer": record, "hooks.on_end": record,
        "hooks.on_wrapup_done": "sleep 30", "hooks.timeout": HOOK_TIMEOUT,
        "wrapup.enabled": True}).start()
    agent.wait_logged_in()
    emulator.admin("call-in", From="+380671112233", To="101")
    agent.wait_call_state("Ringing")
    agent.cc("answer")
    agent.cc("hangup")
    events = wait_until(lambda: out.exists() and len(lines := [x for x in out.read_text()
                                                                 .splitlines() if x]) >= 3
                        and [json.loads(x) for x in lines], 10, "three hooks")
    assert sorted(e["event"] for e in events) == ["on_answer", "on_end", "on_ring"]
    assert {e["call"]["number"] for e in events} == {"+380671112233"}
    agent.cc("wrapup", "done")
    log = agent.home / "log" / "daemon.log"
    wait_until(lambda: f"ran over {HOOK_TIMEOUT:g} s and was killed" in log.read_text(), 10,
               "the hanging hook to be killed")
    assert agent.status()["session"] == "logged in"


def test_play_fetches_the_recording_or_says_there_is_none(emulator, agent):
    call = agent.dial_answered(ANSWERS, after=2)
    agent.cc("hangup")
    row = agent.log_row(call["call_id"], outcome="answered")
    path = agent.cc("play", str(row["id"]), "--no-play").stdout.strip()
    assert open(path, "rb").read(4) == b"RIFF"
    env = {**agent.env, "PATH": os.path.dirname(sys.executable)}   # no audio player here
    agent.env, saved = env, agent.env
    done = agent.cc("play", str(row["id"]), check=False)
    agent.env = saved
    assert done.returncode == 1 and "no audio player found" in done.stderr
    missed = str(emulator.admin("call-in", From="+380671112233", To="101")["IDCall"])
    agent.wait_call_state("Ringing")
    agent.cc("reject")
    unanswered = agent.log_row(missed, outcome="rejected")
    done = agent.cc("play", str(unanswered["id"]), check=False)
    assert done.returncode == 5 and "has no recording" in done.stderr


def test_kb_opens_the_configured_url_with_the_subject(emulator, agent_factory):
    agent = agent_factory(emulator, **{"kb.url": "https://kb.example/search?q={subject}"})
    assert agent.cc("kb", "refund policy").stdout.strip() == \
        "https://kb.example/search?q=refund%20policy"
    bare = agent_factory(emulator)
    done = bare.cc("kb", "x", check=False)
    assert done.returncode == 8 and "kb.url" in done.stderr


def test_a_desktop_notice_when_a_call_rings_and_ends(emulator, agent_factory, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    notices = tmp_path / "notices.txt"
    fake = bin_dir / "notify-send"
    fake.write_text(f"#!/bin/sh\nprintf '%s|' \"$@\" >> {notices}\necho >> {notices}\n")
    fake.chmod(0o755)
    agent = agent_factory(emulator)
    agent.env["PATH"] = f"{bin_dir}:{agent.env['PATH']}"
    agent.start()
    agent.wait_logged_in()
    emulator.admin("call-in", From="+380671112233", To="101")
    agent.wait_call_state("Ringing")
    agent.cc("reject")
    lines = wait_until(lambda: notices.exists() and len(notices.read_text().splitlines()) >= 2
                       and notices.read_text().splitlines(), 10, "two notices")
    assert sorted(lines) == ["--app-name=cc|cc|Call from +380671112233|",
                             "--app-name=cc|cc|Call with +380671112233 ended (rejected)|"]
