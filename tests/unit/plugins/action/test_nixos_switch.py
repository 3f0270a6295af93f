# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nixos_switch's parsing and decisions (plugin_utils/_switch_plan.py), the shell it renders
(_switch_shell.py) and the plugin's argument checks. Real activations run in the molecule scenario."""

import shutil
import subprocess

import pytest

from ansible_collections.nixkit.nix.plugins.action.nixos_switch import ActionModule
from ansible_collections.nixkit.nix.plugins.plugin_utils import _switch_plan as plan
from ansible_collections.nixkit.nix.plugins.plugin_utils import _switch_shell as shell

PROFILE = '/nix/var/nix/profiles/system'
OLD = '/nix/store/zx9ky4gf5zb87ncgnsiyxxdgzjm17jcy-nixos-system-old'
NEW = '/nix/store/jv9i2mj2rcl27v6vd1xrpgs6pmx8g9h0-nixos-system-new'
OLDER = '/nix/store/rknik9q84q507sc8nl7jq3jcmxrlyczq-nixos-system-older'


def probe_text(running=OLD, gens=((1, OLDER), (2, OLD)), current=2, extra=''):
    lines = ['uid=0', 'systemd=yes', 'current_system=%s' % (running or '')]
    if current:
        lines += ['profile_link=system-%d-link' % current, 'profile_target=%s' % dict(gens)[current]]
    lines += ['gen_link=system-%d-link %s' % g for g in gens]
    lines += ['store_exists=yes', 'store_switch=yes', 'nix_env=/usr/bin/nix-env']
    lines += ['tool=%s' % t for t in shell.TOOLS]
    return '\n'.join(lines) + '\n' + extra


def probe(**kwargs):
    return plan.parse_kv(probe_text(**kwargs))


def test_parse_kv_keeps_last_value_and_collects_list_keys():
    parsed = plan.parse_kv('a=1\na=2\ntool=flock\ntool=timeout\nnoise line\n=x\nmsg=x=y\n')
    assert parsed == {'a': '2', 'tool': ['flock', 'timeout'], 'msg': 'x=y'}


@pytest.mark.parametrize('value', [NEW, '/nix/store/jv9i2mj2rcl27v6vd1xrpgs6pmx8g9h0-a.b+c_d?e=f'])
def test_store_path_accepted(value):
    assert plan.check_store_path(value) is None


@pytest.mark.parametrize('value', [
    NEW + '/', NEW + '/bin/switch-to-configuration', '/nix/store/short-name', 'nixos-system',
    '/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-e',   # 'e' is not in Nix's base32
    '/nix/store/jv9i2mj2rcl27v6vd1xrpgs6pmx8g9h0-.hidden', '/tmp/jv9i2mj2rcl27v6vd1xrpgs6pmx8g9h0-x', '',
])
def test_store_path_refused_naming_the_field(value):
    assert 'store_path' in plan.check_store_path(value)


def test_generations_and_current():
    found = probe(extra='gen_link=system-profile-9-link %s\ngen_link=garbage\n' % NEW)
    assert plan.generations(found, PROFILE) == {1: OLDER, 2: OLD}
    assert plan.current_generation(found) == 2
    assert plan.current_generation({}) is None


def test_preflight_names_every_missing_piece():
    bad = plan.parse_kv('uid=1000\ncurrent_system=\ntool=systemctl\n')
    errors = plan.preflight(bad, 'switch', NEW)
    text = '\n'.join(errors)
    for word in ('become: true', 'systemd', 'systemd-run, flock, timeout', 'nix-env', 'store_path %s does not exist' % NEW):
        assert word in text
    nosw = dict(probe(), store_switch='')
    assert plan.preflight(nosw, 'test', NEW) == [
        'store_path %s is not a NixOS system: it has no executable bin/switch-to-configuration' % NEW]
    assert plan.preflight(probe(), 'switch', NEW) == []
    # test and dry-activate do not need nix-env; rollback needs no store path
    assert plan.preflight(dict(probe(), nix_env=''), 'test', NEW) == []
    assert plan.preflight(dict(probe(), store_exists='', store_switch=''), 'rollback', None) == []


def test_lock_holder_names_the_other_run():
    assert plan.lock_holder(probe()) is None
    assert plan.lock_holder(probe(extra='running_unit=nixkit-switch-aa loaded inactive\n')) is None
    held = probe(extra='locked=yes\nholder_unit=nixkit-switch-1234\nholder_action=switch\n'
                       'holder_store_path=%s\nholder_since=2025-01-01T00:00:00Z\n' % NEW)
    assert plan.lock_holder(held) == ('another switch is running on the target: unit nixkit-switch-1234 '
                                      '(switch %s since 2025-01-01T00:00:00Z) holds the lock' % NEW)
    # a running unit without a lock file yet still refuses
    assert 'nixkit-switch-77' in plan.lock_holder(probe(extra='running_unit=nixkit-switch-77.service active\n'))


@pytest.mark.parametrize('action,running,gens,current,changed', [
    ('switch', OLD, ((1, OLD),), 1, True),
    ('switch', NEW, ((1, NEW),), 1, False),
    ('switch', NEW, ((1, OLD),), 1, True),        # after `test`: the profile still needs setting
    ('test', NEW, ((1, OLD),), 1, False),
    ('test', OLD, ((1, NEW),), 1, True),
    ('boot', OLD, ((1, NEW),), 1, False),
    ('boot', NEW, ((1, OLD),), 1, True),
    ('dry-activate', OLD, ((1, OLD),), 1, False),
    ('switch', None, (), None, True),             # the first deployment: no profile, nothing running
])
def test_changed_comes_from_state(action, running, gens, current, changed):
    decision = plan.decide(probe(running=running, gens=gens, current=current), action, NEW, PROFILE)
    assert decision['changed'] is changed


def test_decide_predicts_the_next_generation():
    decision = plan.decide(probe(gens=((1, OLDER), (7, OLD)), current=7), 'switch', NEW, PROFILE)
    assert (decision['previous_generation'], decision['generation'], decision['previous_store_path']) == (7, 8, OLD)
    assert plan.decide(probe(running=None, gens=(), current=None), 'boot', NEW, PROFILE)['generation'] == 1
    assert plan.decide(probe(), 'test', NEW, PROFILE)['generation'] == 2     # test never adds one


def test_rollback_target():
    gens = ((1, OLDER), (2, OLD), (3, NEW))
    assert plan.rollback_target(probe(running=NEW, gens=gens, current=3), PROFILE) == (2, OLD)
    assert plan.rollback_target(probe(running=NEW, gens=gens, current=3), PROFILE, 1) == (1, OLDER)
    with pytest.raises(ValueError, match='has no generation 9 .it has 1, 2, 3.'):
        plan.rollback_target(probe(running=NEW, gens=gens, current=3), PROFILE, 9)
    with pytest.raises(ValueError, match='no generation older'):
        plan.rollback_target(probe(gens=((1, OLD),), current=1), PROFILE)
    decision = plan.decide(probe(running=NEW, gens=gens, current=3), 'rollback', None, PROFILE, 2)
    assert (decision['changed'], decision['store_path'], decision['generation']) == (True, OLD, 2)
    # already there and running it: nothing to do
    assert not plan.decide(probe(running=OLD, gens=gens[:2], current=2), 'rollback', None, PROFILE, 2)['changed']
    # profile there, but another system runs (a `test` deployment): activate it again
    assert plan.decide(probe(running=NEW, gens=gens[:2], current=2), 'rollback', None, PROFILE, 2)['changed']


def record(text):
    return plan.parse_kv(text)


def test_outcome_success_and_reboot():
    failed, msg, fields = plan.outcome(record('previous_generation=2\ngeneration=3\nexit_code=0\nphase=done\n'),
                                       'switch', NEW, 0)
    assert not failed and msg == NEW + '/bin/switch-to-configuration switch exited 0.'
    assert (fields['generation'], fields['previous_generation'], fields['reboot_required']) == (3, 2, False)
    failed, msg, fields = plan.outcome(record('exit_code=100\nphase=done\n'), 'boot', NEW, 0)
    assert not failed and fields['reboot_required'] and 'reboot is required' in msg


def test_outcome_units_failed_and_rolled_back():
    failed, msg, fields = plan.outcome(record(
        'previous_generation=2\ngeneration=3\nexit_code=4\nphase=rolling-back\ndeleted_generation=3\n'
        'rollback_generation=2\nrollback_store_path=%s\nrollback_exit_code=0\nrolled_back=yes\nphase=done\n' % OLD),
        'switch', NEW, 0)
    assert failed and fields['rolled_back'] and fields['generation'] == 2 and fields['deleted_generation'] == 3
    assert msg == ('%s/bin/switch-to-configuration switch exited 4: some units failed to start. '
                   'Rolled back to generation 2 (%s).' % (NEW, OLD))


def test_outcome_not_rolled_back():
    failed, msg, fields = plan.outcome(record('generation=3\nexit_code=1\nphase=done\n'), 'switch', NEW, 0)
    assert failed and not fields['rolled_back'] and 'Not rolled back (rollback: false)' in msg and 'generation 3' in msg
    failed, msg, dummy = plan.outcome(record(
        'generation=1\nexit_code=4\nrollback_error=there is no previous generation of %s\nphase=done\n' % PROFILE),
        'switch', NEW, 0)
    assert failed and msg.endswith('The rollback did not complete: there is no previous generation of %s.' % PROFILE)
    failed, msg, dummy = plan.outcome(record('exit_code=124\nphase=done\n'), 'dry-activate', NEW, 0)
    assert failed and 'within the timeout' in msg and 'roll' not in msg.lower()


def test_outcome_unconfirmed_says_the_target_rolled_itself_back():
    failed, msg, fields = plan.outcome(record(
        'generation=3\nexit_code=0\nphase=awaiting-confirmation\nconfirmed=no\nrollback_generation=2\n'
        'rollback_store_path=%s\nrolled_back=yes\nphase=done\n' % OLD), 'switch', NEW, 20,
        'the fresh connection failed: Connection refused')
    assert failed and fields['confirmed'] is False and fields['exit_code'] == 0
    assert msg == ('No confirmation reached the target over a fresh SSH connection within 20 s after the activation '
                   '(the fresh connection failed: Connection refused). Rolled back to generation 2 (%s).' % OLD)


def test_outcome_refused_and_errors():
    failed, msg, dummy = plan.outcome(record('phase=refused\nholder_unit=nixkit-switch-ab\nholder_action=test\n'
                                             'holder_store_path=%s\nholder_since=now\n' % OLD), 'switch', NEW, 0)
    assert failed and msg == 'Refused: another switch is running on the target: unit nixkit-switch-ab (test %s since now) holds the lock' % OLD
    failed, msg, dummy = plan.outcome(record('error=nix-env --set x failed (see the log)\nphase=done\n'), 'switch', NEW, 0)
    assert failed and msg == 'Nothing was activated: nix-env --set x failed (see the log).'


def test_outcome_of_an_explicit_rollback():
    failed, msg, fields = plan.outcome(record('previous_generation=3\nstore_path=%s\ngeneration=2\nexit_code=0\n'
                                              'deleted_generation=3\nphase=done\n' % OLD), 'rollback', OLD, 0)
    assert not failed and fields['rolled_back'] and fields['generation'] == 2
    assert msg == 'Rolled back to generation 2 (%s): switch-to-configuration switch exited 0; generation 3 deleted.' % OLD
    assert not fields['reboot_required']


def test_rollback_for_the_next_boot():
    gens = ((1, OLDER), (2, OLD), (3, NEW))
    # Booted into NEW: returning to generation 2 for the next boot changes the profile, not what runs.
    decision = plan.decide(probe(running=NEW, gens=gens, current=3), 'rollback', None, PROFILE, 2, 'boot')
    assert (decision['changed'], decision['store_path'], decision['generation']) == (True, OLD, 2)
    # The profile is there already: nothing to do, whatever runs (a live switch would still be needed).
    assert not plan.decide(probe(running=NEW, gens=gens[:2], current=2), 'rollback', None, PROFILE, 2, 'boot')['changed']
    failed, msg, fields = plan.outcome(record('previous_generation=3\nstore_path=%s\ngeneration=2\nexit_code=0\n'
                                              'deleted_generation=3\nphase=done\n' % OLD), 'rollback', OLD, 0, None, 'boot')
    assert not failed and fields['rolled_back'] and fields['reboot_required']
    assert msg.startswith('Rolled back to generation 2 (%s): switch-to-configuration boot exited 0 (the boot default now' % OLD)
    job = shell.job('nixkit-switch-0a', 'rollback', '', PROFILE, '/usr/bin/nix-env', 600, 0, True, 2, rollback_activation='boot')
    assert "ROLLBACK_ACTIVATION=boot" in job and 'activate "$STORE" "$ROLLBACK_ACTIVATION"' in job


@pytest.mark.parametrize('args,error', [
    (dict(action='switch', store_path=NEW + '/', rollback_to=None), 'store_path must be a store path'),
    (dict(action='switch', store_path=NEW, rollback_to=3), 'rollback_to is only for action=rollback'),
    (dict(action='rollback', store_path=NEW, rollback_to=None), 'store_path is not used with action=rollback'),
    (dict(action='switch', store_path=NEW, rollback_to=None, timeout=0), 'timeout must be positive, got 0'),
    (dict(action='test', store_path=NEW, rollback_to=None, confirm_timeout=-1), 'confirm_timeout must be 0 or more'),
    (dict(action='boot', store_path=NEW, rollback_to=None, profile='system'), 'profile must be an absolute path'),
    (dict(action='rollback', store_path=None, rollback_to=None), None),
    (dict(action='rollback', store_path=None, rollback_to=2, rollback_activation='boot'), None),
    (dict(action='boot', store_path=NEW, rollback_to=None, rollback_activation='boot'),
     'rollback_activation is only for action=rollback'),
])
def test_argument_checks(args, error):
    full = dict(dict(timeout=600, confirm_timeout=0, profile=PROFILE, rollback_activation='switch'), **args)
    found = ActionModule._check_args(None, full)
    assert (found is None) if error is None else (error in found)


WEIRD_PROFILE = "/nix/var/nix/profiles/it's $(touch /tmp/pwned) `x`"


@pytest.mark.skipif(not shutil.which('sh'), reason='needs a POSIX shell')
@pytest.mark.parametrize('script', [
    shell.probe(WEIRD_PROFILE, NEW),
    shell.probe(PROFILE, None),
    shell.job('nixkit-switch-0a', 'switch', NEW, WEIRD_PROFILE, '/usr/bin/nix-env', 600, 30, True),
    shell.job('nixkit-switch-0a', 'rollback', '', PROFILE, '/usr/bin/nix-env', 600, 0, True, 4),
    shell.launch('nixkit-switch-0a', shell.job('nixkit-switch-0a', 'test', NEW, PROFILE, '', 5, 0, False), 'desc $HOME'),
    shell.poll('nixkit-switch-0a'), shell.confirm('nixkit-switch-0a'), shell.finish('nixkit-switch-0a'),
])
def test_rendered_shell_parses(script):
    # ActionBase appends ' ; sleep 0' to every command: the plugin strips the trailing newline first.
    checked = subprocess.run(['sh', '-n'], input=script.rstrip('\n') + ' ; sleep 0', capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_values_are_quoted_for_the_shell():
    job = shell.job('nixkit-switch-0a', 'switch', NEW, WEIRD_PROFILE, '/usr/bin/nix-env', 600, 30, True)
    out = subprocess.run(['sh', '-c', job.split('set -u', 1)[0] + 'printf "%s|%s|%s" "$PROFILE" "$CONFIRM_TIMEOUT" "$ROLLBACK"'],
                         capture_output=True, text=True, check=False).stdout
    assert out == WEIRD_PROFILE + '|30|1'
    with pytest.raises(ValueError):
        shell.launch('u', 'echo\nNIXKIT_SWITCH_JOB_EOF\n', 'x')


class FakeTarget(object):
    """Answers the plugin's polls from a script of records; counts confirmations."""

    def __init__(self, records, confirm_answers=()):
        self.records = list(records)
        self.confirm_answers = list(confirm_answers)
        self.confirms = 0

    def state(self, unit):
        record = self.records.pop(0) if len(self.records) > 1 else self.records[0]
        return (None, 'Connection refused') if record is None else (plan.parse_kv(record), None)

    def confirm(self, unit):
        self.confirms += 1
        return self.confirm_answers.pop(0) if self.confirm_answers else (True, None)


def waiting_plugin(monkeypatch, target):
    from ansible_collections.nixkit.nix.plugins.action import nixos_switch
    monkeypatch.setattr(nixos_switch, 'POLL_INTERVAL', 0)
    plugin = object.__new__(ActionModule)
    plugin._state = target.state
    plugin._confirm = target.confirm
    return plugin


RUNNING = 'unit_LoadState=loaded\nunit_ActiveState=active\n'


def test_wait_confirms_once_and_returns_the_finished_record(monkeypatch):
    target = FakeTarget([RUNNING + 'phase=activating\n', RUNNING + 'phase=awaiting-confirmation\n',
                         RUNNING + 'phase=awaiting-confirmation\n', 'unit_LoadState=not-found\nphase=done\nexit_code=0\n'])
    record, error = waiting_plugin(monkeypatch, target)._wait('u', 10, 1e12)
    assert (record['phase'], error, target.confirms) == ('done', None, 1)


def test_waits_grow_to_the_interval_and_start_again_after_the_confirmation(monkeypatch):
    from ansible_collections.nixkit.nix.plugins.action import nixos_switch
    target = FakeTarget([RUNNING + 'phase=activating\n'] * 7 + [RUNNING + 'phase=awaiting-confirmation\n'] * 2
                        + ['phase=done\nexit_code=0\n'])
    plugin = waiting_plugin(monkeypatch, target)
    monkeypatch.setattr(nixos_switch, 'POLL_INTERVAL', 0.5)
    slept = []
    monkeypatch.setattr(nixos_switch.time, 'sleep', slept.append)
    record, error = plugin._wait('u', 10, 1e12)
    assert (record['phase'], error, target.confirms) == ('done', None, 1)
    assert [round(d, 2) for d in slept] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.1, 0.2]


def test_wait_retries_the_confirmation_while_sshd_refuses_and_reports_why(monkeypatch):
    target = FakeTarget([RUNNING + 'phase=awaiting-confirmation\n'] * 3 + [None, 'phase=done\nconfirmed=no\n'],
                        confirm_answers=[(False, 'the fresh connection failed: refused')] * 3)
    record, error = waiting_plugin(monkeypatch, target)._wait('u', 10, 1e12)
    assert record['confirmed'] == 'no' and error == 'the fresh connection failed: refused' and target.confirms == 3


def test_wait_notices_a_unit_that_died_without_finishing(monkeypatch):
    target = FakeTarget(['unit_LoadState=not-found\nunit_ActiveState=inactive\nphase=activating\n'])
    record, dummy = waiting_plugin(monkeypatch, target)._wait('nixkit-switch-1', 10, 1e12)
    assert 'nixkit-switch-1 ended without finishing (ActiveState=inactive, LoadState=not-found)' in record['error']
    failed, msg, dummy = plan.outcome(record, 'switch', NEW, 0)
    assert failed and msg.startswith('The activation job failed after phase activating: the activation unit')


def test_wait_gives_up_at_the_deadline_with_the_last_error(monkeypatch):
    target = FakeTarget([None])
    assert waiting_plugin(monkeypatch, target)._wait('u', 10, 0) == (None, 'no answer within the time limit')


@pytest.mark.parametrize('new, running, changes', [
    ('{"systemd": "/nix/store/a-systemd-259", "dbus": "broker"}', '{"systemd": "/nix/store/b-systemd-258", "dbus": "broker"}', ['systemd']),
    ('{"systemd": "x", "only-new": "y"}', '{"systemd": "x"}', []),  # only names both declare count
    ('/nix/store/a-systemd-259 /nix/store/c-dbus', '/nix/store/b-systemd-258 /nix/store/c-dbus',
     ['/nix/store/a-systemd-259', '/nix/store/b-systemd-258']),
    ('{"systemd": "x"}', None, []),
    (None, '{"systemd": "x"}', []),
])
def test_inhibitor_changes(new, running, changes):
    extra = ''.join('%s=%s\n' % (k, v) for k, v in (('inhibitors_new', new), ('inhibitors_running', running)) if v)
    assert plan.inhibitor_changes(probe(extra=extra)) == changes


def test_outcome_inhibited_refused_or_registered_for_boot():
    refused = dict(inhibited='yes', inhibitors='systemd', phase='done',
                   error='the new system changes switch inhibitors (systemd): it can only be activated by a reboot')
    failed, msg, fields = plan.outcome(refused, 'switch', NEW, 0)
    assert failed and 'switch inhibitors (systemd)' in msg and not fields['reboot_required']
    booted = dict(inhibited='yes', inhibitors='systemd', action='boot', exit_code='0', generation='3', phase='done')
    failed, msg, fields = plan.outcome(booted, 'switch', NEW, 30)
    assert not failed and fields['reboot_required'] and 'generation 3 for the next boot' in msg and 'systemd' in msg


def test_job_checks_inhibitors_before_the_profile_and_sets_the_environment():
    job = shell.job('nixkit-switch-0a', 'switch', NEW, PROFILE, '/usr/bin/nix-env', 600, 30, True,
                    on_inhibited='boot', install_bootloader=True, inhibitors=['systemd'])
    assert job.index('switch-to-configuration" check') < job.index('nixenv --set')
    out = subprocess.run(['sh', '-c', job.split('set -u', 1)[0] + 'printf "%s|%s|%s" "$ON_INHIBITED" "$INSTALL_BOOTLOADER" "$INHIBITORS"'],
                         capture_output=True, text=True, check=False).stdout
    assert out == 'boot|1|systemd'
    assert 'NIXOS_INSTALL_BOOTLOADER=1' in job and 'LOCALE_ARCHIVE=/run/current-system/sw/lib/locale/locale-archive' in job


def switched(monkeypatch, record, action='switch', on_inhibited='fail'):
    """_switch() with a target that starts the job and ends with ``record`` (parse_kv of its text)."""
    plugin = object.__new__(ActionModule)
    plugin._host = 't1'
    plugin._run = lambda script, data=None: {'rc': 0, 'stdout': '', 'stderr': ''}
    plugin._wait = lambda unit, confirm_timeout, deadline: (plan.parse_kv(record), None)
    args = dict(action=action, profile=PROFILE, timeout=600, confirm_timeout=0, rollback=True, rollback_to=None,
                on_inhibited=on_inhibited, install_bootloader=False, rollback_activation='switch')
    state = probe()
    result = dict(changed=False, action=action, store_path=NEW, rolled_back=False, reboot_required=False, exit_code=None)
    result.update(plan.decide(state, action, NEW, PROFILE, None, 'switch'))
    assert result['changed'] and result['generation'] == 3  # what the plan expected before the job ran
    return plugin._switch(result, args, state)


def test_a_switch_refused_for_its_inhibitors_reports_the_generation_that_stays(monkeypatch):
    result = switched(monkeypatch, 'phase=done\ninhibited=yes\ninhibitors=systemd\n'
                                   'error=the new system changes switch inhibitors (systemd)\n')
    assert result['failed'] and not result['changed']
    assert result['generation'] == result['previous_generation'] == 2  # the profile was never set
    assert 'warnings' not in result


def test_a_system_registered_for_the_next_boot_warns_that_a_reboot_is_required(monkeypatch):
    result = switched(monkeypatch, 'phase=done\ninhibited=yes\ninhibitors=systemd\naction=boot\nexit_code=0\n'
                                   'generation=3\nprevious_generation=2\n', on_inhibited='boot')
    assert not result['failed'] and result['changed'] and result['generation'] == 3 and result['reboot_required']
    assert result['warnings'] == ['t1: reboot required. ' + result['msg']]
    assert 'Registered as generation 3 for the next boot' in result['msg']
