# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_secrets: write secret files outside the Nix store with shell commands only (no Python
on the target). Documented in plugins/modules/nixos_secrets.py; the checks, the shell and the
decisions are in module_utils/_secrets.py. Content travels on the commands' stdin only."""

from __future__ import annotations

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.nixkit.nix.plugins.module_utils import _secrets as sec
from ansible_collections.nixkit.nix.plugins.module_utils._kv import parse_kv
from ansible_collections.nixkit.nix.plugins.plugin_utils._shell_action import ShellAction

ARGUMENT_SPEC = dict(
    secrets=dict(type='list', elements='raw', required=True, no_log=True),
    stage=dict(type='str', default='all', choices=['all', 'validate'] + list(sec.STAGES)),
    variable=dict(type='str', default='secrets'),
    prune=dict(type='bool', default=False),
    manifest=dict(type='str', default=sec.MANIFEST),
)


class ActionModule(ShellAction):

    def run(self, tmp=None, task_vars=None):
        args = self._start(tmp, task_vars, ARGUMENT_SPEC)
        try:
            return self._secrets(args)
        except AnsibleConnectionFailure:
            raise
        except AnsibleError as exc:
            # Reported in `error` too, so a role can show it from a task with no_log (see nixos_deploy).
            return self._fail(dict(changed=False, secrets=[]), to_text(exc))

    def _secrets(self, args):
        stage, variable = args['stage'], args['variable']
        stages = list(sec.STAGES) if stage == 'all' else [] if stage == 'validate' else [stage]
        result = dict(changed=False, secrets=[], removed=[], error=None)
        prune = args['prune'] and stage != 'validate'
        try:
            secrets = sec.check(args['secrets'], variable)
            manifest = sec.check_manifest(args['manifest'])
            contents = {}
            for n, s in enumerate(secrets):
                if s['upload'] in stages or stage == 'validate':
                    contents[n] = self._content(s, variable)
        except sec.SecretsError as exc:
            return self._fail(result, str(exc))
        if not secrets and not prune:
            return dict(result, msg='no secrets')

        out = self._run(sec.probe(secrets, manifest if stage != 'validate' else None))['stdout']
        probed, managed = parse_kv(out), sec.managed(out)
        errors = sec.problems(secrets, probed, stages, variable, self._task.check_mode)
        if errors:
            return self._fail(result, '; '.join(errors) + ' Nothing was changed.')
        if stage == 'validate':
            return dict(result, secrets=[dict(sec.public(s), state='valid') for s in secrets],
                        msg='%d secret(s) checked' % len(secrets))

        diffs = []
        for n, s in enumerate(secrets):
            item = sec.public(s)
            result['secrets'].append(item)
            if s['upload'] not in stages:
                item['state'] = 'other stage'
                continue
            st = sec.state(probed, n)
            meta = sec.metadata_differs(s, st)
            if self._task.check_mode:
                answer = self._run(sec.compare_script(s, not contents[n]), contents[n] or None)
                content_changed = parse_kv(answer['stdout']).get('content') != 'same'
            else:
                answer = self._run(sec.write_script(s, meta, not contents[n]), contents[n] or None)
                done = parse_kv(answer['stdout'])
                if answer['rc'] != 0 or done.get('content') not in ('same', 'written'):
                    # stderr of mktemp/chown/mv names a path or a user, never the content (it is on stdin).
                    return self._fail(result, '%s[%d] (dest %s): writing it failed on the target: %s' % (
                        variable, s['index'], s['dest'], to_text(answer['stderr']).strip() or 'rc %s' % answer['rc']))
                content_changed = done.get('content') == 'written' and done.get('same') != 'yes'
            changed = meta or bool(content_changed)
            item['state'] = ('would write' if self._task.check_mode else 'written') if changed else 'unchanged'
            item['changed'] = changed
            if changed:
                result['changed'] = True
                diffs.append(sec.describe(s, st, meta, content_changed))
        failed = self._prune(result, diffs, secrets, managed, prune) or self._record(manifest, secrets, managed, stages, prune)
        if failed:
            return self._fail(result, failed)
        written = [i['dest'] for i in result['secrets'] if i.get('changed')]
        verb = 'would write' if self._task.check_mode else 'wrote'
        result['msg'] = '%s %d secret(s)%s' % (verb, len(written), (': ' + ', '.join(written)) if written else '')
        if result['removed']:
            result['msg'] += '; %s %d no longer listed: %s' % (
                'would remove' if self._task.check_mode else 'removed', len(result['removed']), ', '.join(result['removed']))
        if self._task.diff and diffs:
            result['diff'] = diffs
        return result

    def _prune(self, result, diffs, secrets, managed, prune):
        """Remove the files this plugin wrote that no secret of the list names any more. An error
        message, or None."""
        old = sec.stale(secrets, managed) if prune else []
        gone = [p for p in old if managed[p] == 'present']
        others = [p for p in old if managed[p] == 'other']
        if others:
            result.setdefault('warnings', []).append(
                'nixos_secrets: %s no longer listed but not a file (a directory?); left in place' % ', '.join(others))
        if gone and not self._task.check_mode:
            answer = self._run(sec.remove_script(gone))
            gone = [line[len('removed='):] for line in answer['stdout'].splitlines() if line.startswith('removed=')]
            if answer['rc'] != 0:
                return 'removing the secrets no longer listed failed on the target: %s' % (
                    to_text(answer['stderr']).strip() or 'rc %s' % answer['rc'])
        result['removed'] = gone
        if gone:
            result['changed'] = True
            diffs.extend(sec.removed_diff(p) for p in gone)
        return None

    def _record(self, manifest, secrets, managed, stages, prune):
        """Keep the manifest (which files this plugin manages) up to date; bookkeeping, not a change."""
        new = sec.next_manifest(secrets, managed, stages, prune)
        if self._task.check_mode or new == sorted(managed):
            return None
        answer = self._run(sec.manifest_script(manifest, not new), to_bytes(''.join(p + '\n' for p in new)) or None)
        if answer['rc'] != 0 or 'content=' not in answer['stdout']:
            return 'writing %s on the target failed: %s' % (manifest, to_text(answer['stderr']).strip() or 'rc %s' % answer['rc'])
        return None

    def _fail(self, result, msg):
        return dict(result, failed=True, error=msg, msg=msg)

    def _content(self, secret, variable):
        if 'content' in secret:
            return to_bytes(secret['content'], errors='surrogate_or_strict')
        try:
            path = self._find_needle('files', secret['src'])
            real = self._loader.get_real_file(path, decrypt=True)
        except AnsibleError as exc:
            raise sec.SecretsError('%s[%d] (dest %s): src %s cannot be read on the controller: %s' % (
                variable, secret['index'], secret['dest'], secret['src'], to_text(exc).splitlines()[0]))
        try:
            with open(real, 'rb') as handle:
                return handle.read()
        finally:
            self._loader.cleanup_tmp_file(real)

    def _run(self, script, data=None):
        # The content goes on stdin only.
        try:
            return super(ActionModule, self)._run(script, data)
        except AnsibleConnectionFailure:
            raise
        except AnsibleError as exc:
            if data is None:
                raise
            # paramiko_ssh, for one, cannot send a command's stdin.
            raise AnsibleError('nixos_secrets sends each secret on the stdin of a shell command, which the connection '
                               'plugin %s cannot do (%s); use the ssh connection' % (self._connection._load_name, to_text(exc)))
