# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_reboot's decisions and its wait for a new boot, with a scripted target. The reboot itself
runs in the nixos_deploy lab scenario (a container restarted by podman)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.nixkit.nix.plugins.action import nixos_reboot
from ansible_collections.nixkit.nix.plugins.plugin_utils import _reboot as rb

OLD = '/nix/store/zx9ky4gf5zb87ncgnsiyxxdgzjm17jcy-nixos-system-old'
NEW = '/nix/store/jv9i2mj2rcl27v6vd1xrpgs6pmx8g9h0-nixos-system-new'
BOOT1 = 'boot=9c31daef-051c-4978-b05c-22620c5ce645:3819814\n'
BOOT2 = 'boot=9c31daef-051c-4978-b05c-22620c5ce645:3821814\n'   # a container restart: same kernel boot_id
READY = 'uid=0\nsystemd=yes\nsystemd_run=yes\n'


def test_preflight_names_what_is_missing():
    assert rb.preflight(rb.parse(BOOT1 + READY), NEW) == []
    errors = rb.preflight(rb.parse('boot=:\nuid=1000\n'), 'nixos-system-new')
    assert errors[0].startswith('nixos_reboot needs root on the target (become: true); it runs as uid 1000')
    assert 'no running systemd with systemd-run' in errors[1]
    assert 'did not report a boot identity' in errors[2]
    assert "expect_system must be a store path (/nix/store/HASH-NAME), got 'nixos-system-new'" == errors[3]


@pytest.mark.parametrize('after, new', [
    (BOOT2, True),                                              # PID 1 started anew (container restart)
    ('boot=0a1b2c3d-0000-4000-8000-000000000000:3819814\n', True),  # new kernel boot, same tick
    (BOOT1, False),                                             # still the old boot (the shutdown has not begun)
    ('', False),                                                # an empty answer is no proof
])
def test_a_new_boot_is_told_by_the_pair(after, new):
    assert rb.came_back(rb.parse(BOOT1), rb.parse(after)) is new


def test_verdict_wants_the_expected_system():
    assert rb.verdict(rb.parse('current_system=%s\n' % NEW), NEW) == (
        False, 'the target rebooted and came back running %s' % NEW)
    failed, msg = rb.verdict(rb.parse('current_system=%s\n' % OLD), NEW)
    assert failed and msg.startswith('the target came back running %s, not the expected system %s' % (OLD, NEW))
    assert rb.verdict(rb.parse(''), None) == (False, 'the target rebooted and came back running no /run/current-system')


@pytest.mark.skipif(not shutil.which('sh'), reason='needs a POSIX shell')
@pytest.mark.parametrize('script', [rb.probe(), rb.launch('nixkit-reboot-0a', 1), rb.settled(120)])
def test_rendered_shell_parses(script):
    checked = subprocess.run(['sh', '-n'], input=script.rstrip('\n') + ' ; sleep 0', capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(not shutil.which('sh'), reason='needs a POSIX shell')
def test_probe_reads_pid1_start_time_past_a_command_name_with_spaces(tmp_path):
    # /proc/1/stat: "1 (my init) S 0 1 ..." -- field 22 (starttime) is the 20th after "(comm) ".
    stat = tmp_path / 'stat'
    fields = ['S'] + [str(n) for n in range(4, 22)] + ['777', '23']
    stat.write_text('1 (my init) %s\n' % ' '.join(fields))
    line = rb.probe().splitlines()[1].replace('/proc/1/stat', str(stat)).replace('/proc/sys/kernel/random/boot_id', '/dev/null')
    out = subprocess.run(['sh', '-c', line], capture_output=True, text=True, check=False).stdout
    assert out == 'boot=:777\n'


class Connection(object):
    """Scripted answers to the plugin's probes after the reboot: text, or an exception to raise."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.resets = 0

    def reset(self):
        self.resets += 1

    def run(self, script):
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return dict(rc=0, stdout=answer, stderr='')


def plugin_for(monkeypatch, connection):
    monkeypatch.setattr(nixos_reboot, 'POLL_INTERVAL', 0)
    monkeypatch.setattr(nixos_reboot, 'DELAY', 0)
    plugin = object.__new__(nixos_reboot.ActionModule)
    plugin._connection = connection
    plugin._run = connection.run
    return plugin


def test_waits_through_the_old_boot_and_refused_connections(monkeypatch):
    connection = Connection([BOOT1, AnsibleConnectionFailure('ssh: connect to host t1 port 22: Connection refused'),
                             BOOT2 + 'current_system=%s\n' % NEW])
    after, error = plugin_for(monkeypatch, connection)._wait_for_new_boot(rb.parse(BOOT1), 1e12)
    assert (after['current_system'], error) == (NEW, None)
    assert connection.resets == 3   # every attempt on a fresh connection


def test_gives_up_at_the_deadline_naming_the_last_error(monkeypatch):
    connection = Connection([AnsibleConnectionFailure('ssh: connect to host t1 port 22: No route to host')])
    plugin = plugin_for(monkeypatch, connection)
    assert plugin._wait_for_new_boot(rb.parse(BOOT1), 0) == (None, None)   # no attempt at all
    monkeypatch.setattr(nixos_reboot.time, 'time', iter([0, 0, 1e12]).__next__)
    assert plugin._wait_for_new_boot(rb.parse(BOOT1), 1) == (None, 'ssh: connect to host t1 port 22: No route to host')


class Task(object):
    def __init__(self, check_mode):
        self.check_mode = check_mode


def run_plugin(monkeypatch, answers, check_mode=False, **args):
    """ActionModule.run against scripted answers: the probe before, the launch, the probes after, the settled one."""
    connection = Connection(answers)
    plugin = plugin_for(monkeypatch, connection)
    plugin._task = Task(check_mode)
    scripts = []

    def run(script):
        scripts.append(script)
        return connection.run(script)
    plugin._run = run
    full = dict(reboot_timeout=600, settle_timeout=120, expect_system=None)
    full.update(args)
    plugin._start = lambda tmp, task_vars, spec: full
    return plugin.run(), scripts


def test_check_mode_reads_and_schedules_nothing(monkeypatch):
    result, scripts = run_plugin(monkeypatch, [BOOT1 + READY + 'current_system=%s\n' % OLD], check_mode=True)
    assert result['changed'] and not result['rebooted'] and result['previous_system'] == OLD
    assert result['msg'].startswith('check mode: would reboot the target')
    assert len(scripts) == 1 and 'systemctl reboot' not in scripts[0]


def test_refusals_change_nothing(monkeypatch):
    result, scripts = run_plugin(monkeypatch, [BOOT1 + 'uid=0\nsystemd=yes\n'])
    assert result['failed'] and not result['rebooted'] and result['msg'].endswith('Nothing was changed.')
    assert 'systemd-run' in result['msg'] and len(scripts) == 1
    result, scripts = run_plugin(monkeypatch, [BOOT1 + READY], reboot_timeout=0)
    assert result['failed'] and result['msg'] == 'reboot_timeout must be a positive number of seconds, got 0' and not scripts


def test_reboots_and_checks_the_system_it_came_back_with(monkeypatch):
    after = BOOT2 + READY + 'current_system=%s\nsystem_state=running\n'
    result, scripts = run_plugin(monkeypatch, [BOOT1 + READY, '', after % NEW], expect_system=NEW)
    assert not result.get('failed') and result['changed'] and result['came_back'] and result['current_system'] == NEW
    assert 'systemctl reboot' in scripts[1] and result['system_state'] == 'running'
    result, scripts = run_plugin(monkeypatch, [BOOT1 + READY, '', after % OLD], expect_system=NEW)
    assert result['failed'] and result['came_back'] and 'not the expected system ' + NEW in result['msg']
