# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""estate: a role's typed variables and its view of the estate, computed on the controller.

Documented in plugins/modules/estate.py; the model itself is plugin_utils/_estate.py and the
typing of role variables plugin_utils/_role_args.py."""

from __future__ import annotations

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate
from ansible_collections.nixkit.nix.plugins.plugin_utils import _install_probe as install_probe
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_args as role_args
from ansible_collections.nixkit.nix.plugins.plugin_utils._shell_action import ShellAction

# Roles that need a recent enough Nix on the host before they change anything.
NIX_CHECKED_ROLES = ('nix_builder', 'nix_client', 'nix_cache_server')
# Roles whose main view reads the host first (one shell command, no Python there).
PROBED_ROLES = NIX_CHECKED_ROLES + ('nix_install',)

ARGUMENT_SPEC = dict(
    role=dict(type='str', required=True, choices=list(role_args.ROLES)),
    view=dict(type='str', default='main', choices=['main', 'netrc', 'plan']),
    fetched=dict(type='list', elements='raw', default=[]),
    down=dict(type='list', elements='raw', default=[]),
)


class ActionModule(ShellAction):
    """Only one shell command runs on the host (install_probe.command): no Python needed there."""

    def run(self, tmp=None, task_vars=None):
        params = self._start(tmp, task_vars, ARGUMENT_SPEC)
        task_vars = task_vars or {}
        role = params['role']
        host = task_vars.get('inventory_hostname')

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

        facts = None
        if role in PROBED_ROLES and params['view'] == 'main':
            facts = self._probe_host(role, args)
            if role in NIX_CHECKED_ROLES:
                problem = estate.nix_version_problem(estate.parse_nix_version(facts['version']), role, host)
                if problem:
                    return dict(failed=True, changed=False, msg=problem)

        groups = task_vars.get('groups') or {}
        try:
            descriptors, unreachable = self._descriptors(task_vars, params['fetched'])
            unreachable.update(self._down(params['down']))
            view = self._view(role, params['view'], host, groups, task_vars, descriptors, args, unreachable)
        except estate.EstateError as exc:
            return dict(failed=True, changed=False, msg=str(exc))
        if params['view'] == 'netrc':
            # Passwords: only for a task that hides its result (no_log), and never with the args.
            return dict(changed=False, netrc=view)
        result = dict(view, changed=False, args=role_args.public(role, args))
        if facts is not None:
            result['nixos'] = facts['nixos']
            if role == 'nix_install':
                result['host'] = facts
        warning = self._not_yet(role, view)
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
        reads = estate.descriptor_reads(role, groups, args, published)
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
        timeout = args.get('nix_client_preflight_timeout') or estate.PROBE_TIMEOUT
        down = estate.probe_ports(targets, timeout)
        return dict(
            changed=False,
            read=[r for r in reads if r['host'] not in down],
            down=[dict(r, msg=down[r['host']]) for r in reads if r['host'] in down],
        )

    @staticmethod
    def _not_yet(role, view):
        """A warning naming the peers that are not wired in yet, or None."""
        if role in ('nix_builder', 'nix_cache_server') and view.get('keyless_clients'):
            return ('Not authorized yet (no keys published; run nixkit.nix.nix_client there first): %s%s'
                    % (', '.join(view['keyless_clients']),
                       '; unreachable: ' + ', '.join(view['unreachable_clients']) if view.get('unreachable_clients') else ''))
        if role == 'nix_client' and (view.get('builders_missing') or view.get('caches_missing')):
            return ('Not used yet (no descriptor published; run nixkit.nix.nix_builder or nixkit.nix.nix_cache_server '
                    'there first): %s' % ', '.join(view['builders_missing'] + view['caches_missing']))
        return None

    def _probe_host(self, role, args):
        """The host as one shell command reads it (plugin_utils/_install_probe.py): NixOS, OS family, Nix
        version and state; for nix_install also its daemon users and packages."""
        users, packages = [], []
        if role == 'nix_install':
            users = args['nix_install_daemon_users']
            if args['nix_install_method'] == 'package':
                packages = ['python3-apt'] + list(args['nix_install_packages'])
        result = self._run(install_probe.command(users, packages))
        return dict(install_probe.parse(result.get('stdout', '')), path=install_probe.NIX_PATH)

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
        hostvars = task_vars.get('hostvars') or {}
        out = {}
        for host in hosts:
            if host in hostvars:
                hv = hostvars[host]
                out[host] = {name: self._templar.template(hv.get(name)) for name in estate.PEER_VARIABLES if name in hv}
        return out

    def _view(self, role, view, host, groups, task_vars, descriptors, args, unreachable):
        if role == 'nix_builder':
            clients_group = args['nix_builder_clients_group']
            result = estate.builder_view(
                host, groups, descriptors, clients_group,
                extra_ssh_keys=estate.check_keys(args['nix_builder_authorized_keys'], 'nix_builder_authorized_keys',
                                                 estate.SSH_PUBLIC_KEY_RE, 'SSH public keys ("ssh-ed25519 AAAA... comment")'),
                extra_signing_keys=estate.check_keys(args['nix_builder_trusted_public_keys'], 'nix_builder_trusted_public_keys',
                                                     estate.NIX_PUBLIC_KEY_RE, 'Nix signing keys ("name-1:base64")'))
            result['unreachable_clients'] = sorted(h for h in unreachable if h in result['keyless_clients'])
            return result
        if role == 'nix_cache_server':
            result = estate.cache_view(
                host, groups, descriptors, args['nix_cache_server_clients_group'], args['nix_cache_server_ssh_writers'],
                extra_ssh_keys=estate.check_keys(args['nix_cache_server_authorized_keys'], 'nix_cache_server_authorized_keys',
                                                 estate.SSH_PUBLIC_KEY_RE, 'SSH public keys ("ssh-ed25519 AAAA... comment")'))
            result['unreachable_clients'] = sorted(h for h in unreachable if h in result['keyless_clients'])
            return result
        if role == 'nix_client':
            groups_of = {'builder': args['nix_client_builders_group'], 'cache': args['nix_client_caches_group']}
            peers = estate.members(groups, groups_of['builder']) + estate.members(groups, groups_of['cache'])
            down = [h for h in peers if h in unreachable and h != host]
            if down:
                raise estate.EstateError(' '.join(
                    '%s %s could not be reached (%s). Bring it back or take it out of the %s group.'
                    % ((unreachable[h][0] or 'host').capitalize(), h, unreachable[h][1], groups_of.get(unreachable[h][0], 'its'))
                    for h in down) + ' Nothing was changed on this client.')
            estate.check_store_urls(args['nix_client_substituters'], 'nix_client_substituters')
            estate.check_machines(args['nix_client_builders'], 'nix_client_builders')
            hostvars = self._peer_vars(task_vars, peers)
            if view == 'netrc':
                return estate.client_netrc(host, groups, hostvars, descriptors, args['nix_client_caches_group'],
                                           args['nix_client_cache_http_login'])
            return estate.client_view(
                host, groups, hostvars, descriptors, args['nix_client_builders_group'], args['nix_client_caches_group'],
                args['nix_client_ssh_key'], transports=args['nix_client_cache_transports'],
                http_login=args['nix_client_cache_http_login'], custom_builders=args['nix_client_builders'])
        return {}
