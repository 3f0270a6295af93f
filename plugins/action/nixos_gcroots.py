# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_gcroots: a target's deployed systems keep their garbage collector roots on the build host.
Documented in plugins/modules/nixos_gcroots.py; the plan and the shell are in module_utils/_gcroots.py.
Two shell commands (read the links, then set them), where a module run cost about 0.5 s more per deploy."""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.nixkit.nix.plugins.module_utils import _gcroots as roots
from ansible_collections.nixkit.nix.plugins.plugin_utils._shell_action import ShellAction

ARGUMENT_SPEC = dict(
    dir=dict(type='path', required=True),
    name=dict(type='str', required=True),
    running=dict(type='str'),
    keep=dict(type='int', default=1),
    drop_building=dict(type='bool', default=True),
)
# Nix follows the links under this directory only.
GCROOTS = '/nix/var/nix/gcroots/'


class ActionModule(ShellAction):

    def run(self, tmp=None, task_vars=None):
        return self._gcroots(self._start(tmp, task_vars, ARGUMENT_SPEC))

    def _gcroots(self, args):
        directory, name, running = args['dir'].rstrip('/'), args['name'], args['running'] or None
        result = dict(changed=False, current=None, previous=[], released=[], msg='')
        try:
            roots.check_name(name)
            roots.check_store_path(running, 'running')
            roots.check_dir(directory, GCROOTS)
            roots.check_keep(args['keep'])
        except roots.GcrootsError as exc:
            return dict(result, failed=True, msg=str(exc))

        probe = self._run(roots.probe_script(directory, name, running))
        if probe['rc'] != 0:
            return dict(result, failed=True, msg='reading the roots in %s failed: %s' % (directory, self._why(probe)))
        current, history, building, entries, present = roots.parse_probe(to_text(probe['stdout']))
        if running and not present:
            result['msg'] = '%s is not in this host\'s store: no root for it here, the others stay' % running
            running = None
        new_current, new_history = roots.plan(current, history, running, args['keep'])
        drop = args['drop_building'] and building is not None
        changed = (new_current, new_history) != (current, history) or drop
        result.update(changed=changed, current=new_current, previous=new_history,
                      released=[p for p in [current] + history if p and p != new_current and p not in new_history])
        if self._task.check_mode or not changed:
            return result
        done = self._run(roots.apply_script(directory, name, (current, entries), (new_current, new_history), drop))
        if done['rc'] != 0 or 'done=yes' not in to_text(done['stdout']):
            return dict(result, failed=True, msg='could not set the roots in %s: %s' % (directory, self._why(done)))
        return result

    @staticmethod
    def _why(answer):
        return to_text(answer['stderr']).strip() or to_text(answer['stdout']).strip() or 'rc %s' % answer['rc']
