# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_deploy_report: write the deploy run's JSON report on the controller, in this process.
ansible.builtin.copy on localhost ran two modules (stat, copy) for it, about 1 s of every deploy.
Documented in plugins/modules/nixos_deploy_report.py."""

from __future__ import annotations

import datetime
import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = dict(
    path=dict(type='str', required=True),
    results=dict(type='list', elements='dict'),
    fact=dict(type='str', default='nixos_deploy_result'),
    variable=dict(type='str', default='path'),
)


def plain(value):
    """The value as plain JSON types (templated values may be subclasses or lazy containers)."""
    if isinstance(value, dict):
        return dict((to_text(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return to_text(value)


def play_results(task_vars, fact):
    """The records (the fact ``fact``) of every host of the play that has one, in the play's order:
    earlier serial batches too, since ansible_play_hosts_all spans them."""
    hostvars = task_vars.get('hostvars') or {}
    out = []
    for host in task_vars.get('ansible_play_hosts_all') or []:
        record = hostvars[host].get(fact) if host in hostvars else None
        if record is not None:
            out.append(record)
    return out


def render(results, now=None):
    """The report's text: when it was made and every host's record, as to_nice_json writes it."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    report = {'generated': now.strftime('%Y-%m-%dT%H:%M:%SZ'), 'hosts': plain(results)}
    return json.dumps(report, indent=4, sort_keys=True, separators=(',', ': ')) + '\n'


def write(path, text):
    """Atomically, mode 0644: a temporary file in the same directory renamed over the report."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.nixkit-report.', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args['results'] is None:
            args['results'] = play_results(task_vars or {}, args['fact'])
        return self._report(args)

    def _report(self, args):
        path = os.path.expanduser(args['path'])
        result = dict(changed=False, path=path, hosts=len(args['results']))
        if not path or path.endswith('/'):
            return dict(result, failed=True, msg='%s must name a file, got %r' % (args['variable'], args['path']))
        if os.path.isdir(path):
            return dict(result, failed=True, msg='%s (%s) is a directory; name the report file, for example %s' % (
                args['variable'], path, os.path.join(path, 'nixos-deploy-report.json')))
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            return dict(result, failed=True, msg='%s (%s): its directory %s does not exist on the controller; create it '
                                                 'or choose another path' % (args['variable'], path, directory))
        if self._task.check_mode:
            return dict(result, changed=True, msg='would write the report of %d host(s) to %s' % (result['hosts'], path))
        try:
            write(path, render(args['results']))
        except (IOError, OSError) as exc:
            return dict(result, failed=True, msg='%s (%s): cannot write the report on the controller: %s' % (
                args['variable'], path, to_text(exc.strerror or exc)))
        return dict(result, changed=True, msg='wrote the report of %d host(s) to %s' % (result['hosts'], path))
