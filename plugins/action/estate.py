# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""estate (internal): a role's typed variables, its view of the estate and its plan, computed on the controller.

Documented in plugins/modules/estate.py. What is done for which role is the table of
plugin_utils/_role_plans.py; the model is plugin_utils/_estate.py, the plans plugin_utils/_plan_*.py, the
typing of role variables plugin_utils/_role_args.py. This file only gathers the inputs and dispatches."""

from __future__ import annotations

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate
from ansible_collections.nixkit.nix.plugins.plugin_utils import _install_probe as install_probe
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_args as role_args
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_plans as role_plans
from ansible_collections.nixkit.nix.plugins.plugin_utils import _state_probe as state_probe
from ansible_collections.nixkit.nix.plugins.plugin_utils._shell_action import ShellAction

ARGUMENT_SPEC = dict(
    role=dict(type='str', required=True, choices=list(role_args.ROLES)),
    view=dict(type='str', default='main', choices=['main', 'netrc', 'plan', 'keys']),
    fetched=dict(type='list', elements='raw', default=[]),
    down=dict(type='list', elements='raw', default=[]),
)


class ActionModule(ShellAction):
    """Only one shell command runs on the host (install_probe.command): no Python needed there."""

    def run(self, tmp=None, task_vars=None):
        params = self._start(tmp, task_vars, ARGUMENT_SPEC)
        task_vars = task_vars or {}
        role = params['role']
        plans = role_plans.PLANS[role]
        host = task_vars.get('inventory_hostname')
        if params['view'] not in plans.views + ('plan',):
            return dict(failed=True, changed=False, msg='view=%s is not a view of role %s' % (params['view'], role))

        try:
            values = {name: self._templar.template(task_vars[name])
                      for name in role_args.option_names(role) if name in task_vars}
            args = role_args.typed(role, values)
        except role_args.RoleArgsError as exc:
            return dict(failed=True, changed=False, msg=str(exc))

        if params['view'] == 'plan':
            try:
                return self._plan(role, args, task_vars)
            except estate.EstateError as exc:
                return dict(failed=True, changed=False, msg=str(exc))

        try:
            descriptors, unreachable = self._descriptors(task_vars, params['fetched'])
            unreachable.update(self._down(params['down']))
            ctx = role_plans.Context(host, task_vars.get('groups') or {}, args, descriptors, unreachable, {},
                                     lambda hosts: self._peer_vars(task_vars, hosts), params['view'])
            if plans.probes(params['view']):
                # One command reads the host: what it is, what the role manages there, whether its peers answer.
                ctx.facts = self._probe_host(plans, args, params['view'], plans.peers(ctx))
                if plans.nix_checked and params['view'] == 'main':
                    problem = estate.nix_version_problem(estate.parse_nix_version(ctx.facts['version']), role, host)
                    if problem:
                        return dict(failed=True, changed=False, msg=problem)
            view = plans.view(ctx)
        except estate.EstateError as exc:
            return dict(failed=True, changed=False, msg=str(exc))
        facts = ctx.facts if plans.probes(params['view']) else None
        if params['view'] == 'netrc':
            # Passwords: only for a task that hides its result (no_log), and never with the args.
            return dict(changed=False, netrc=view)
        result = dict(view, changed=False, args=role_args.public(role, args), nix_path=install_probe.NIX_PATH)
        # What the host publishes, when its descriptor already says it: as facts, as the descriptor module would.
        if result.get('published'):
            result['ansible_facts'] = result.pop('published')
        if facts is not None:
            result['nixos'] = facts['nixos']
        warning = plans.not_yet(view)
        if warning:
            result['warnings'] = [warning]
        return result

    def _plan(self, role, args, task_vars):
        """Which descriptors the role must read from their hosts, and which of those hosts are down.

        Run once per play (run_once): the reads are delegated to the hosts in ``read``; the hosts in
        ``down`` (their SSH port did not answer the controller) are not read but named by the view."""
        groups = task_vars.get('groups') or {}
        hostvars = task_vars.get('hostvars') or {}
        published = dict((host, set(kinds)) for host, kinds in self._published(hostvars).items())
        reads = role_plans.descriptor_reads(role, groups, args, published)
        connections = {}
        for read in reads:
            if read['host'] in hostvars and read['host'] not in connections:
                hv = hostvars[read['host']]
                connections[read['host']] = {name: self._templar.template(hv.get(name))
                                             for name in estate.CONNECTION_VARIABLES if name in hv}
        targets = {}
        for host in connections:
            target = estate.controller_ssh(host, connections)
            if target:
                targets[host] = target
        timeout = role_plans.PLANS[role].probe_timeout(args)
        down = estate.probe_ports(targets, timeout)
        return dict(
            changed=False,
            read=[r for r in reads if r['host'] not in down],
            down=[dict(r, msg=down[r['host']]) for r in reads if r['host'] in down],
        )

    def _probe_host(self, plans, args, view='main', peers=()):
        """The host as one shell command reads it (plugin_utils/_install_probe.py): NixOS, OS family, Nix
        version and state, nix-daemon's path; what the role's plan asks about users and packages; and the state of
        what the role manages (plugin_utils/_state_probe.py) in the same command, for the plans that compare it."""
        users, packages = plans.probe_args(args)
        script = install_probe.command(users, packages)
        reads = plans.state_reads(args, view)
        if reads is not None:
            script += '; ' + state_probe.command(install_probe.NIX_PATH, peers=peers,
                                                 timeout=plans.probe_timeout(args), **reads)
        out = self._run(script).get('stdout', '')
        facts = dict(install_probe.parse(out), path=install_probe.NIX_PATH)
        if reads is not None:
            facts['state'] = state_probe.parse(out)
        return facts

    def _published(self, hostvars):
        """Descriptors published in this run: the facts nixkit_KIND of every host (only those templated)."""
        found = {}
        for host in hostvars:
            facts = hostvars[host].get('ansible_facts') or {}
            if not isinstance(facts, dict):
                continue
            for kind in estate.DESCRIPTOR_KINDS:
                value = facts.get('nixkit_' + kind)
                if value:
                    value = self._templar.template(value)
                if isinstance(value, dict) and value:
                    found.setdefault(host, {})[kind] = value
        return found

    def _descriptors(self, task_vars, fetched):
        """Descriptors published in this run (facts) and those read from hosts (``fetched``)."""
        found, unreachable = self._published(task_vars.get('hostvars') or {}), {}
        for result in fetched or []:
            if not isinstance(result, dict) or result.get('skipped') or not result.get('item'):
                continue
            # Items are host names (the kind is in the result), [host, kind] pairs or {host, kind}.
            item = result['item']
            if isinstance(item, (list, tuple)) and len(item) == 2:
                item = {'host': item[0], 'kind': item[1]}
            elif not isinstance(item, dict):
                item = {'host': item, 'kind': result.get('kind')}
            if result.get('unreachable') or result.get('failed'):
                unreachable[item.get('host')] = (item.get('kind'), (result.get('msg') or 'unreachable').strip())
            elif isinstance(result.get('descriptor'), dict) and result['descriptor']:
                found.setdefault(item.get('host'), {})[item.get('kind')] = result['descriptor']
        return found, unreachable

    @staticmethod
    def _down(hosts):
        """The plan's ``down`` list ({host, kind, msg}) as host -> (kind, why)."""
        down = {}
        for entry in hosts or []:
            if isinstance(entry, dict) and entry.get('host'):
                down[entry['host']] = (entry.get('kind'), (entry.get('msg') or 'its SSH port did not answer').strip())
        return down

    def _peer_vars(self, task_vars, hosts):
        """The PEER_VARIABLES of ``hosts``, templated as each host sees them.

        A host's own values come from the task's variables. A peer's are templated with the peer's variables and
        ``hostvars``: ``hostvars[peer]`` alone templates without ``hostvars``, so a value such as
        ``ProxyJump: "jump@{{ hostvars['bastion'].ansible_host }}"`` would fail as undefined."""
        hostvars = task_vars.get('hostvars') or {}
        me = task_vars.get('inventory_hostname')
        out = {}
        for host in hosts:
            if host == me:
                out[host] = {name: self._templar.template(task_vars[name]) for name in estate.PEER_VARIABLES
                             if name in task_vars}
            elif host in hostvars:
                raw = hostvars.raw_get(host) if hasattr(hostvars, 'raw_get') else hostvars[host]
                templar = self._templar
                if hasattr(templar, 'copy_with_new_env'):
                    templar = templar.copy_with_new_env(available_variables=dict(raw, hostvars=hostvars))
                out[host] = {name: templar.template(raw[name]) for name in estate.PEER_VARIABLES if name in raw}
        return out
