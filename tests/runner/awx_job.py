"""Run a playbook through ansible-runner the way AWX / Automation Platform runs a job template.

AWX turns a job template, its survey answers and its credentials into a private data directory
and calls ansible-runner on it. This module does the same from the JSON files in docs/awx/, so the
documented template and survey are exactly what the tests run:

- ``inventory/``: the inventory (AWX writes its own from the inventory sources);
- ``project/``: the project checkout (site.yml, playbooks/);
- ``env/extravars``: the template's extra_vars, then launch-time variables, then the survey answers,
  all as AWX sends them (a text or multiple-choice answer is a string, e.g. batch size ``"1"``);
- ``env/ssh_key``: the machine credential's private key (ansible-runner hands it to an ssh-agent);
- ``env/passwords``: the answer to the vault credential's prompt (``--vault-id ID@prompt``);
- ``env/cmdline``: ``-u USER`` from the machine credential, ``--vault-id``, ``--limit``, ``--forks``...

The per-host deploy record is read back from ``artifacts/IDENT/job_events/*.json``, the events AWX
stores and shows for the job.
"""
from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs" / "awx"
RECORD_TASK = "Record the outcome as the fact nixos_deploy_result"


def load_template(name: str) -> dict:
    return json.loads((DOCS / f"{name}-job-template.json").read_text())


def survey_defaults(name: str) -> dict[str, str]:
    """What AWX sends for a survey answered with its defaults: {variable: default}, as strings
    for text and multiple-choice questions, as numbers only for integer/float questions."""
    spec = json.loads((DOCS / f"{name}-survey.json").read_text())
    answers = {}
    for q in spec["spec"]:
        if q["type"] in ("integer", "float"):
            answers[q["variable"]] = q["default"]
        else:
            answers[q["variable"]] = str(q["default"])
    return answers


def survey_choices(name: str) -> dict[str, list[str]]:
    spec = json.loads((DOCS / f"{name}-survey.json").read_text())
    return {q["variable"]: q["choices"] for q in spec["spec"] if q["type"] == "multiplechoice"}


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def prepare_job(pdd: Path, template: dict, *, user: str, ssh_key: str, vault_id: str,
                vault_password: str, launch_vars: dict | None = None, survey: dict | None = None,
                limit: str | None = None) -> list[str]:
    """Write the job's env/ files into the private data dir `pdd`; returns the command line."""
    extravars = yaml.safe_load(template.get("extra_vars") or "") or {}
    if template.get("ask_variables_on_launch"):
        extravars.update(launch_vars or {})
    elif launch_vars:
        raise ValueError(f"{template['name']} does not ask for variables on launch")
    if template.get("survey_enabled"):
        extravars.update(survey or {})
    write_private(pdd / "env" / "extravars", json.dumps(extravars))
    write_private(pdd / "env" / "ssh_key", ssh_key)
    write_private(pdd / "env" / "passwords",
                  json.dumps({rf"Vault password \({vault_id}\):\s*?$": vault_password}))
    args = ["-u", user, "--vault-id", f"{vault_id}@prompt", "--forks", str(template.get("forks") or 5)]
    job_limit = limit if (limit is not None and template.get("ask_limit_on_launch")) else template.get("limit")
    if limit is not None and not template.get("ask_limit_on_launch"):
        raise ValueError(f"{template['name']} does not ask for a limit on launch")
    if job_limit:
        args += ["--limit", job_limit]
    if template.get("job_type") == "check":
        args.append("--check")
    if template.get("diff_mode"):
        args.append("--diff")
    if template.get("verbosity"):
        args.append("-" + "v" * int(template["verbosity"]))
    write_private(pdd / "env" / "cmdline", shlex.join(args))
    return args


def events(artifacts: Path) -> list[dict]:
    """The job's events in order (what AWX stores for the job)."""
    files = (artifacts / "job_events").glob("*.json")
    evs = [json.loads(p.read_text()) for p in files]
    return sorted(evs, key=lambda e: e["counter"])


def deploy_records(evs: list[dict]) -> dict[str, dict]:
    """{host: nixos_deploy_result} from the record task's events (the last one per host)."""
    records = {}
    for e in evs:
        data = e.get("event_data", {})
        if e["event"] == "runner_on_ok" and data.get("task") == RECORD_TASK:
            records[data["host"]] = data["res"]["ansible_facts"]["nixos_deploy_result"]
    return records


def play_batches(evs: list[dict], play: str) -> list[list[str]]:
    """Hosts of each start of `play` (one start per serial batch), in order of their first task."""
    batches: list[list[str]] = []
    current = None
    for e in evs:
        data = e.get("event_data", {})
        if e["event"] == "playbook_on_play_start":
            current = [] if data.get("play") == play else None
            if current is not None:
                batches.append(current)
        elif current is not None and data.get("host") and data["host"] not in current \
                and e["event"].startswith("runner_on_"):
            current.append(data["host"])
    return batches
