"""Every command a script may run takes `--json`: the walk over the whole app finds no
leaf command without it, and the team store's administrator commands answer in JSON."""

from __future__ import annotations

import json

from cccli.app import app, labelled
from test_team_roles import team

# Foreground servers print a log, not a result, and a shell script is the shell's input:
# there is nothing for --json to shape.
NO_JSON = {
    "cc completion": "a completion script, which the shell sources as it is",
    "cc daemon run": "the daemon in the foreground (what the service manager runs)",
    "cc emulator run": "the emulator in the foreground, serving until stopped",
}


def leaves(command, path: str):
    subs = getattr(command, "commands", None)
    if not subs:
        yield path, command
        return
    for name, sub in subs.items():
        yield from leaves(sub, f"{path} {name}")


def test_every_command_takes_json_but_the_foreground_servers():
    without = sorted(path for path, command in leaves(labelled(app), "cc")
                     if "--json" not in {o for p in command.params
                                         for o in getattr(p, "opts", ())})
    assert without == sorted(NO_JSON)


def test_the_team_store_administrators_commands_answer_in_json(postgres):
    made = json.loads(team(postgres, "init", "--json").stdout)
    assert made["schema_version_before"] is None and made["schema_version"] >= 1
    again = json.loads(team(postgres, "init", "--json").stdout)
    assert again["schema_version_before"] == again["schema_version"]
    assert json.loads(team(postgres, "add-team", "Sales", "--lead", "boss", "--json").stdout
                      ) == {"team": "Sales", "lead": "boss", "agents_see_team": False,
                            "message": "team 'Sales' led by boss"}
    agent = json.loads(team(postgres, "add-agent", "ivanova", "--team", "Sales",
                            "--extension", "101", "--json").stdout)
    assert (agent["login"], agent["team"], agent["prefix"], agent["extension"],
            agent["name"]) == ("ivanova", "Sales", "IVANOVA", "101", None)
    viewer = json.loads(team(postgres, "add-viewer", "quality", "--team", "Sales",
                             "--password-stdin", "--json", stdin="qu-pw\n").stdout)
    assert (viewer["login"], viewer["team"]) == ("quality", "Sales")
    # Without --json, the same one line for people as before.
    assert team(postgres, "add-team", "Support").stdout == "team 'Support'\n"
