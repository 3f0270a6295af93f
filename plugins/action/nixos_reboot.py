# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_reboot: reboot a NixOS target and wait until it is back, with shell commands only (no
Python on the target, where ansible.builtin.reboot needs it for its facts). Documented in
plugins/modules/nixos_reboot.py; the shell and the decisions are in plugin_utils/_reboot.py."""

from __future__ import annotations

import secrets
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.nixkit.nix.plugins.plugin_utils import _reboot as rb
from ansible_collections.nixkit.nix.plugins.plugin_utils._shell_action import ShellAction

ARGUMENT_SPEC = dict(
    reboot_timeout=dict(type='int', default=600),
    expect_system=dict(type='str'),
    settle_timeout=dict(type='int', default=120),
)
# The reboot starts this many seconds after the command that schedules it has returned.
DELAY = 1
POLL_INTERVAL = 2


class ActionModule(ShellAction):

    def run(self, tmp=None, task_vars=None):
        args = self._start(tmp, task_vars, ARGUMENT_SPEC)
        result = dict(changed=False, rebooted=False, came_back=None, elapsed=None, current_system=None,
                      booted_system=None, previous_system=None, system_state=None)
        for key in ('reboot_timeout', 'settle_timeout'):
            if args[key] <= 0:
                return dict(result, failed=True, msg='%s must be a positive number of seconds, got %d' % (key, args[key]))

        before = rb.parse(self._run(rb.probe())['stdout'])
        result['previous_system'] = before.get('current_system')
        errors = rb.preflight(before, args['expect_system'])
        if errors:
            return dict(result, failed=True, msg='; '.join(errors) + '. Nothing was changed.')
        if self._task.check_mode:
            return dict(result, changed=True, msg='check mode: would reboot the target and wait up to %d s for it'
                        % args['reboot_timeout'])

        unit = rb.UNIT_PREFIX + secrets.token_hex(4)
        started = self._run(rb.launch(unit, DELAY))
        if started['rc'] != 0:
            return dict(result, failed=True, msg='systemd-run could not schedule the reboot (unit %s): %s' % (
                unit, to_text(started['stderr'] or started['stdout']).strip()))
        result.update(changed=True, rebooted=True)
        t0 = time.time()
        after, error = self._wait_for_new_boot(before, t0 + DELAY + args['reboot_timeout'])
        result['elapsed'] = round(time.time() - t0, 1)
        if after is None:
            return dict(result, failed=True, came_back=False, msg=(
                'the target did not come back within %d s after the reboot (reboot_timeout); last connection attempt: %s'
                % (args['reboot_timeout'], error or 'it answered, still from the old boot')))
        settled = rb.parse(self._run(rb.settled(args['settle_timeout']))['stdout'])
        result.update(came_back=True, current_system=settled.get('current_system'), system_state=settled.get('system_state'),
                      booted_system=settled.get('booted_system'), elapsed=round(time.time() - t0, 1))
        failed, msg = rb.verdict(settled, args['expect_system'])
        return dict(result, failed=failed, msg='%s after %s s (systemd: %s)' % (
            msg, result['elapsed'], settled.get('system_state') or 'unknown'))

    def _wait_for_new_boot(self, before, deadline):
        """Reconnect until the target answers from a new boot. Returns (probe, None) or (None, last error).
        reset() drops the ssh plugin's ControlMaster, whose socket outlives the old boot's sshd."""
        last_error = None
        time.sleep(DELAY)
        while time.time() < deadline:
            try:
                self._connection.reset()
                answer = self._run(rb.probe())
                after = rb.parse(answer['stdout'])
                if answer['rc'] == 0 and rb.came_back(before, after):
                    return after, None
                last_error = None
            except AnsibleError as exc:  # connection refused or reset, become timing out while it goes down
                text = to_text(exc).strip()
                last_error = text.splitlines()[-1] if text else type(exc).__name__
            time.sleep(POLL_INTERVAL)
        return None, last_error
