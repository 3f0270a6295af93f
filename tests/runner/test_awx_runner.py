"""site.yml and the deploy playbook through ansible-runner, as AWX job templates run them, on lab hosts.

The job templates and the survey are docs/awx/*.json (see awx_job.py); the machine credential is
the lab's SSH key in env/ssh_key with the user on the command line, the vault credential answers
the --vault-id prompt from env/passwords and decrypts a vaulted inventory variable. The per-host
deploy record is read from the runner's job events, as AWX shows it. Run by `scripts/test.sh runner`
(root, podman): one lab run of four hosts, removed on any exit.

target3 is in nixos_targets but has no Nix (variant bare): both jobs leave it out with their launch
limit; the test fails if any event of either job names it.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ansible_runner
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import awx_job  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NIXLAB = ROOT / "tests" / "lab" / "nixlab.py"
VAULT_ID = "nixkit"
DEPLOY_PLAY = "Deploy the NixOS targets"


def lab(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(NIXLAB), *args], check=True, text=True, **kw)


def vaulted(value: str, password_file: Path) -> str:
    """`ansible-vault encrypt_string` output: a YAML `!vault |` scalar."""
    out = subprocess.run(["ansible-vault", "encrypt_string", "--vault-id", f"{VAULT_ID}@{password_file}",
                          "--encrypt-vault-id", VAULT_ID, value],
                         check=True, text=True, capture_output=True).stdout
    return out.strip()


@pytest.fixture(scope="module")
def estate():
    """Four lab hosts and an AWX-like inventory for them; everything removed on any exit."""
    run = f"{os.environ.get('NIXKIT_LAB_PREFIX') or 'r' + secrets.token_hex(3)}-awx"
    work = Path(tempfile.mkdtemp(prefix="nixkit-awx-"))
    try:
        t0 = time.monotonic()
        hosts = ["--host=builder1:nix=nix_builders", "--host=target1:nix=nixos_targets",
                 "--host=target2:nix=nixos_targets", "--host=target3:bare=nixos_targets"]
        up = json.loads(lab("up", "--run", run, "--state-dir", str(work / "lab"), "--json", *hosts,
                            stdout=subprocess.PIPE).stdout)
        # The synthetic systems where tests/lab/lab-vars.yml expects them (tests/lab/demo_prepare.yml).
        lab("exec", "--run", run, "builder1", "--", "sh", "-c",
            "mkdir -p /root/nixkit-demo && cat > /root/nixkit-demo/systems.nix",
            input=(ROOT / "extensions/molecule/nixos_deploy/files/systems.nix").read_text())
        print(f"\n[runner] lab up: {time.monotonic() - t0:.0f} s")

        # The AWX inventory: hosts and groups, the lab settings as inventory variables, the host keys
        # pinned; no key or user (those come from the machine credential).
        password = secrets.token_urlsafe(24)
        pwfile = work / "vault-pass"
        awx_job.write_private(pwfile, password)
        inv = work / "inventory"
        lab_vars = yaml.safe_load((ROOT / "tests/lab/lab-vars.yml").read_text())
        all_vars = {**lab_vars,
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "ansible_ssh_common_args": f"-o UserKnownHostsFile={up['known_hosts']} -o StrictHostKeyChecking=yes"}
        del all_vars["nixos_deploy_attr"]  # vaulted below
        awx_job.write_private(inv / "group_vars" / "all.yml", "---\n" + yaml.safe_dump(all_vars))
        awx_job.write_private(inv / "group_vars" / "nixos_targets.yml",
                              f"---\n# Vaulted, to be decrypted by the job's vault credential.\n"
                              f"nixos_deploy_attr: {vaulted('v1', pwfile)}\n")
        pwfile.unlink()
        groups: dict = {}
        for name, h in up["hosts"].items():
            for g in h["groups"]:
                groups.setdefault(g, {"hosts": {}})["hosts"][name] = {"ansible_host": h["address"]}
        awx_job.write_private(inv / "hosts.yml", yaml.safe_dump({"all": {"children": groups}}))

        # The project checkout, as AWX syncs it into the job's private data dir.
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                               capture_output=True).stdout.decode().split("\0")
        project = work / "project"
        for f in filter(None, files):
            if (ROOT / f).is_file():
                (project / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / f, project / f)

        yield {"work": work, "run": run, "inventory": inv, "project": project, "password": password,
               "key": Path(up["private_key"]).read_text()}
    finally:
        lab("down", "--run", run, "--state-dir", str(work / "lab"), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


def run_job(estate: dict, name: str, ident: str, **launch):
    """Launch the job template docs/awx/NAME-job-template.json; returns (events, private data dir)."""
    template = awx_job.load_template(name)
    pdd = estate["work"] / f"job-{ident}"
    shutil.copytree(estate["inventory"], pdd / "inventory")
    # The project is linked, not copied again: its ansible.cfg is the job's, as in AWX.
    (pdd / "project").symlink_to(estate["project"])
    awx_job.prepare_job(pdd, template, user="root", ssh_key=estate["key"], vault_id=VAULT_ID,
                        vault_password=estate["password"], **launch)
    t0 = time.monotonic()
    r = ansible_runner.run(
        private_data_dir=str(pdd), ident=ident, playbook=template["playbook"], quiet=True, timeout=900,
        envvars={"ANSIBLE_CONFIG": str(estate["project"] / "ansible.cfg"),
                 # AWX installs the project's collections here; this checkout's installed copy.
                 "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".build" / "collections")})
    print(f"[runner] job {ident}: {time.monotonic() - t0:.0f} s")
    evs = awx_job.events(pdd / "artifacts" / ident)
    stdout = (pdd / "artifacts" / ident / "stdout").read_text()
    assert r.status == "successful" and r.rc == 0, f"{name}: {r.status} rc={r.rc}\n{stdout[-6000:]}"
    # Neither secret of the credentials is in what AWX would store and show.
    for e in evs:
        text = json.dumps(e)
        assert estate["password"] not in text and "PRIVATE KEY" not in text
    assert estate["password"] not in stdout
    return evs, pdd


def test_site_then_deploy_as_job_templates(estate):
    # site.yml: the whole estate; the vaulted system name decrypted by the vault credential.
    evs, pdd = run_job(estate, "site", "site", limit="all:!target3")
    # The machine credential's user and the vault credential's prompt, as AWX puts them on the command line.
    assert (pdd / "env" / "cmdline").read_text().startswith(f"-u root --vault-id {VAULT_ID}@prompt ")
    assert not [e for e in evs if e.get("event_data", {}).get("host") == "target3"]
    records = awx_job.deploy_records(evs)
    assert sorted(records) == ["target1", "target2"], records
    for host, rec in records.items():
        assert rec["status"] == "ok" and rec["changed"], rec
        assert rec["generation"] == 1 and rec["previous_generation"] is None, rec
        assert rec["store_path"].endswith(f"-nixos-system-{host}-v1"), rec
        assert rec["built_on"] == "builder1" and rec["action"] == "switch", rec

    # The deploy template: survey answered with its defaults but a batch size of "1" (a string,
    # as AWX sends a text answer), a new system as launch variable, two of the three targets as limit.
    survey = {**awx_job.survey_defaults("deploy"), "nixkit_deploy_serial": "1"}
    assert survey["nixos_deploy_action"] in awx_job.survey_choices("deploy")["nixos_deploy_action"]
    evs, pdd = run_job(estate, "deploy", "deploy", survey=survey, limit="target1:target2",
                       launch_vars={"nixos_deploy_attr": "v2"})
    sent = json.loads((pdd / "env" / "extravars").read_text())
    assert sent["nixkit_deploy_serial"] == "1" and sent["nixos_deploy_report_path"] == ""
    assert "--limit target1:target2" in (pdd / "env" / "cmdline").read_text()

    # Batch size "1": one play start per host, in inventory order; target3 is outside the limit.
    assert awx_job.play_batches(evs, DEPLOY_PLAY) == [["target1"], ["target2"]]
    assert not [e for e in evs if e.get("event_data", {}).get("host") == "target3"]
    records = awx_job.deploy_records(evs)
    assert sorted(records) == ["target1", "target2"], records
    for host, rec in records.items():
        assert rec["status"] == "ok" and rec["changed"] and not rec["rolled_back"], rec
        assert rec["generation"] == 2 and rec["previous_generation"] == 1, rec
        assert rec["store_path"].endswith(f"-nixos-system-{host}-v2"), rec
        assert rec["action"] == survey["nixos_deploy_action"], rec

    # What the records say is what the hosts run.
    for host, version in [("target1", "v2"), ("target2", "v2")]:
        running = lab("exec", "--run", estate["run"], host, "--", "readlink", "/run/current-system",
                      stdout=subprocess.PIPE).stdout.strip()
        assert running.endswith(f"-nixos-system-{host}-{version}"), (host, running)
