# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_switch: activate a NixOS system closure with shell commands only (no Python on the
target). The documentation is in plugins/modules/nixos_switch.py; the shell in
plugin_utils/_switch_shell.py, the decisions in plugin_utils/_switch_plan.py."""

from __future__ import annotations

import secrets
import time

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.nixkit.nix.plugins.plugin_utils import _switch_plan as plan
from ansible_collections.nixkit.nix.plugins.plugin_utils import _switch_shell as shell
from ansible_collections.nixkit.nix.plugins.plugin_utils._shell_action import ShellAction

ARGUMENT_SPEC = dict(
    store_path=dict(type='str'),
    action=dict(type='str', default='switch', choices=list(plan.ACTIONS)),
    profile=dict(type='str', default='/nix/var/nix/profiles/system'),
    timeout=dict(type='int', default=600),
    confirm_timeout=dict(type='int', default=0),
    rollback=dict(type='bool', default=True),
    rollback_to=dict(type='int'),
    on_inhibited=dict(type='str', default='fail', choices=list(plan.ON_INHIBITED)),
    install_bootloader=dict(type='bool', default=False),
    rollback_activation=dict(type='str', default='switch', choices=['switch', 'boot']),
)
# Each poll is one command over the multiplexed connection (about 0.1 s). The waits grow from 0.1 s to
# POLL_INTERVAL, and start again at 0.1 s after the confirmation: a quick activation (most of them) is
# seen done within a tenth of a second, a long one costs no more than one poll every half second.
POLL_INTERVAL = 0.5
FIRST_POLL = 0.1


class ActionModule(ShellAction):

    def run(self, tmp=None, task_vars=None):
        self._host = (task_vars or {}).get('inventory_hostname') or 'the target'
        args = self._start(tmp, task_vars, ARGUMENT_SPEC, required_if=[
            ('action', 'switch', ['store_path']), ('action', 'boot', ['store_path']),
            ('action', 'test', ['store_path']), ('action', 'dry-activate', ['store_path'])])
        action, profile = args['action'], args['profile']
        store_path = args['store_path'] if action != 'rollback' else None
        result = dict(changed=False, action=action, store_path=store_path, rolled_back=False, reboot_required=False,
                      exit_code=None, previous_generation=None, generation=None, previous_store_path=None)
        bad = self._check_args(args)
        if bad:
            return dict(result, failed=True, msg=bad)

        probe = plan.parse_kv(self._run(shell.probe(profile, store_path))['stdout'])
        errors = plan.preflight(probe, action, store_path)
        holder = plan.lock_holder(probe)
        if holder:
            errors.append('Refused: ' + holder)
        if errors:
            return dict(result, failed=True, msg='; '.join(errors))
        try:
            decision = plan.decide(probe, action, store_path, profile, args['rollback_to'], args['rollback_activation'])
        except ValueError as exc:
            return dict(result, failed=True, msg=str(exc))
        result.update(decision)
        if self._task.check_mode and (decision['changed'] or action == 'dry-activate'):
            return dict(result, msg='check mode: would run %s/bin/switch-to-configuration %s' % (
                result['store_path'], args['rollback_activation'] if action == 'rollback' else action))
        if not decision['changed'] and action != 'dry-activate':
            return dict(result, msg='nothing to do: the target already runs %s (%s)' % (result['store_path'], action))
        return self._switch(result, args, probe)

    def _check_args(self, args):
        for key in ('timeout', 'confirm_timeout'):
            if args[key] < 0 or key == 'timeout' and args[key] == 0:
                return '%s must be %s, got %d' % (key, 'positive' if key == 'timeout' else '0 or more', args[key])
        if not args['profile'].startswith('/') or args['profile'].endswith('/'):
            return 'profile must be an absolute path to a profile link, got %r' % args['profile']
        if args['action'] == 'rollback':
            if args['store_path']:
                return 'store_path is not used with action=rollback (give rollback_to, a generation number, or nothing)'
            return None
        if args['rollback_to'] is not None:
            return 'rollback_to is only for action=rollback'
        if args['rollback_activation'] != 'switch':
            return 'rollback_activation is only for action=rollback'
        return plan.check_store_path(args['store_path'])

    def _switch(self, result, args, probe):
        action = args['action']
        unit = shell.UNIT_PREFIX + secrets.token_hex(4)
        job = shell.job(unit, action, result['store_path'] if action != 'rollback' else '', args['profile'], probe.get('nix_env'),
                        args['timeout'], args['confirm_timeout'] if action in ('switch', 'test') else 0,
                        args['rollback'], result['generation'] if action == 'rollback' else None,
                        args['on_inhibited'], args['install_bootloader'], plan.inhibitor_changes(probe),
                        args['rollback_activation'])
        started = self._run(shell.launch(unit, job, 'nixkit.nix nixos_switch %s' % action))
        if started['rc'] != 0:
            return dict(result, failed=True, msg='systemd-run could not start the activation unit %s: %s'
                        % (unit, (started['stderr'] or started['stdout']).strip()))
        result['unit'] = unit
        # Long enough for the activation, the confirmation wait, and a rollback's activations.
        deadline = time.time() + 3 * args['timeout'] + args['confirm_timeout'] + 60
        record, confirm_error = self._wait(unit, args['confirm_timeout'], deadline)
        if record is None:
            return dict(result, failed=True, msg='Lost the target or ran out of time while unit %s ran; it goes on '
                        'there (and rolls back by itself if it awaited a confirmation): %s' % (unit, confirm_error))
        log = self._run(shell.finish(unit))['stdout'].splitlines()
        failed, msg, fields = plan.outcome(record, action, result['store_path'], args['confirm_timeout'], confirm_error,
                                           args['rollback_activation'])
        result.update((k, v) for k, v in fields.items() if v is not None or k not in ('generation', 'previous_generation'))
        result.update(log=log, msg=msg, failed=failed)
        if action == 'dry-activate':
            result['changed'] = False
        elif record.get('phase') == 'refused' or record.get('error'):
            result['changed'] = False
            if plan.to_int(record.get('generation')) is None:
                # The job set no profile (refused, inhibitors, an error before it): the planned number never existed.
                result['generation'] = result.get('previous_generation')
        if record.get('inhibited') == 'yes':
            result['inhibited'] = True
            result['inhibitors'] = plan.inhibitor_changes(probe)
        if result.get('reboot_required') and not failed:
            # Said on every run, not only with -v: the new system does not run until the host boots it.
            result.setdefault('warnings', []).append('%s: reboot required. %s' % (getattr(self, '_host', 'the target'), msg))
        return result

    def _state(self, unit):
        try:
            return plan.parse_kv(self._run(shell.poll(unit))['stdout']), None
        except AnsibleConnectionFailure as exc:
            return None, str(exc).strip().splitlines()[-1] if str(exc).strip() else 'connection failed'

    def _wait(self, unit, confirm_timeout, deadline):
        """Poll the job until it is done; confirm when it waits for it. Returns (record, error)."""
        confirmed, confirm_error, last_error = False, None, None
        confirm_deadline, polls = None, 0
        while time.time() < deadline:
            record, error = self._state(unit)
            if record is None:
                last_error = error
            elif record.get('phase') in ('done', 'refused'):
                return record, confirm_error
            elif record.get('unit_LoadState') == 'not-found' or record.get('unit_ActiveState') in ('inactive', 'failed'):
                # The unit is gone (--collect) or dead without finishing its record.
                return dict(record, error=record.get('error') or 'the activation unit %s ended without finishing (%s)' % (
                    unit, ', '.join('%s=%s' % (k[5:], v) for k, v in sorted(record.items()) if k.startswith('unit_')))), confirm_error
            elif record.get('phase') == 'awaiting-confirmation' and not confirmed:
                confirm_deadline = confirm_deadline or time.time() + confirm_timeout
                if time.time() < confirm_deadline:
                    confirmed, confirm_error = self._confirm(unit)
                    polls = 0
            polls += 1
            time.sleep(min(POLL_INTERVAL, FIRST_POLL * polls))
        return None, last_error or confirm_error or 'no answer within the time limit'

    def _confirm(self, unit):
        """Confirm over a connection opened now. Why reset() instead of running ssh ourselves:
        reset() stops the ssh connection plugin's ControlMaster (`ssh -O stop`), so the next command
        makes a new TCP connection and authenticates anew through sshd as it now is, with every
        setting of the inventory (user, port, keys, passwords, jump hosts, become). An ssh of our
        own would have to rebuild those settings and would miss passwords and become methods. A
        multiplexed session would still work after the activation stopped sshd, proving nothing.
        Returns (confirmed, error)."""
        try:
            self._connection.reset()
            answer = plan.parse_kv(self._run(shell.confirm(unit))['stdout'])
        except AnsibleConnectionFailure as exc:
            text = str(exc).strip()
            return False, 'the fresh connection failed: %s' % (text.splitlines()[-1] if text else 'no answer')
        if answer.get('decision') == 'confirmed':
            return True, None
        return False, 'the target had already decided: %s' % (answer.get('decision') or 'no decision file')
