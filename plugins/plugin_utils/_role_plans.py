# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which plan serves which role: the one table the estate action (internal) dispatches through.

Each role says here what the action does for it - whether it reads the host first (one shell command,
``_install_probe``), which peers' descriptors it needs, how its view and plan are computed, and which peers
to name as not wired in yet - so the action itself holds no role names. The views are ``_estate``'s
(the inventory's wiring); the plans are ``_plan_ROLE.py`` (the role's whole desired state)."""

from __future__ import annotations

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_builder as plan_builder
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_cache as plan_cache
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_client as plan_client
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_deploy as plan_deploy
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_install as plan_install

SSH_KEYS = 'SSH public keys ("ssh-ed25519 AAAA... comment")'
SIGNING_KEYS = 'Nix signing keys ("name-1:base64")'


class Context(object):
    """What a view is computed from. ``peer_vars(hosts)`` returns those hosts' _estate.PEER_VARIABLES, templated;
    ``unreachable``: host -> (kind, why) for peers whose descriptor could not be read."""

    def __init__(self, host, groups, args, descriptors, unreachable, facts, peer_vars, view='main'):
        self.host, self.groups, self.args = host, groups, args
        self.descriptors, self.unreachable, self.facts = descriptors, unreachable, facts
        self.peer_vars, self.view = peer_vars, view


class RolePlan(object):
    """A role the estate action serves with its typed variables only (nix_install's facts come from the probe)."""
    probed = False       # view=main reads the host first (install_probe)
    nix_checked = False  # and refuses a Nix older than _estate.NIX_MINIMUM, before any change
    views = ('main',)
    probed_views = ('main',)

    def probes(self, view):
        """Whether this view reads the host first (one shell command)."""
        return self.probed and view in self.probed_views

    def probe_args(self, args):
        """(users, packages) the host probe asks about."""
        return [], []

    def state_reads(self, args, view='main'):
        """What the state probe reads of the role's managed files (_state_probe.command's arguments), or None."""
        return None

    def peers(self, ctx):
        """[{name, store, sshopts}] the host probe tries to reach as the host's daemon would (before the view)."""
        return []

    def wanted(self, groups, args):
        """[(host, kind)] of the descriptors the role needs, in inventory order."""
        return []

    def probe_timeout(self, args):
        """Seconds the peers' SSH ports may take to answer the controller before their descriptors are read."""
        return estate.PROBE_TIMEOUT

    def view(self, ctx):
        return {}

    def not_yet(self, view):
        """A warning naming the peers not wired in yet, or None."""
        return None


def _not_authorized(view):
    if not view.get('keyless_clients'):
        return None
    return ('Not authorized yet (no keys published; run nixkit.nix.nix_client there first): %s%s'
            % (', '.join(view['keyless_clients']),
               '; unreachable: ' + ', '.join(view['unreachable_clients']) if view.get('unreachable_clients') else ''))


class Builder(RolePlan):
    probed = nix_checked = True

    def wanted(self, groups, args):
        return [(h, 'client') for h in estate.members(groups, args['nix_builder_clients_group'])]

    def view(self, ctx):
        args = ctx.args
        result = estate.builder_view(
            ctx.host, ctx.groups, ctx.descriptors, args['nix_builder_clients_group'],
            extra_ssh_keys=estate.check_keys(args['nix_builder_authorized_keys'], 'nix_builder_authorized_keys',
                                             estate.SSH_PUBLIC_KEY_RE, SSH_KEYS),
            extra_signing_keys=estate.check_keys(args['nix_builder_trusted_public_keys'], 'nix_builder_trusted_public_keys',
                                                 estate.NIX_PUBLIC_KEY_RE, SIGNING_KEYS))
        result['unreachable_clients'] = sorted(h for h in ctx.unreachable if h in result['keyless_clients'])
        result['plan'] = plan_builder.plan(ctx.host, args, result, ctx.facts)
        result['daemon'] = ctx.facts.get('daemon') or ''
        # Which of the role's steps still have something to do (a no-op run starts no module on the host).
        nothing = not result['daemon']
        result['differs'] = plan_builder.differs(result['plan'], args, None if nothing else ctx.facts.get('state'),
                                                 ctx.facts.get('nixos'))
        if not result['differs']['descriptor']:
            result['published'] = {'nixkit_builder': plan_builder.descriptor(args, ctx.facts['state'])}
        return result

    def state_reads(self, args, view='main'):
        return plan_builder.state_reads(args)

    not_yet = staticmethod(_not_authorized)


class Cache(RolePlan):
    probed = nix_checked = True

    def wanted(self, groups, args):
        # Its writers too, those in the inventory (cache_view refuses the others).
        inventory = set(h for hosts in groups.values() for h in hosts)
        writers = [str(w).strip() for w in args['nix_cache_server_ssh_writers'] if str(w).strip() in inventory]
        return [(h, 'client') for h in estate.members(groups, args['nix_cache_server_clients_group']) + writers]

    def view(self, ctx):
        args = ctx.args
        result = estate.cache_view(
            ctx.host, ctx.groups, ctx.descriptors, args['nix_cache_server_clients_group'], args['nix_cache_server_ssh_writers'],
            extra_ssh_keys=estate.check_keys(args['nix_cache_server_authorized_keys'], 'nix_cache_server_authorized_keys',
                                             estate.SSH_PUBLIC_KEY_RE, SSH_KEYS))
        result['unreachable_clients'] = sorted(h for h in ctx.unreachable if h in result['keyless_clients'])
        result['plan'] = plan_cache.plan(ctx.host, args, result, ctx.facts)
        result['daemon'] = ctx.facts.get('daemon') or ''
        return result

    not_yet = staticmethod(_not_authorized)


class Client(RolePlan):
    probed = nix_checked = True
    views = ('main', 'netrc', 'keys')
    probed_views = ('main', 'keys')

    def probe_timeout(self, args):
        return args.get('nix_client_preflight_timeout') or estate.PROBE_TIMEOUT

    def wanted(self, groups, args):
        return ([(h, 'builder') for h in estate.members(groups, args['nix_client_builders_group'])]
                + [(h, 'cache') for h in estate.members(groups, args['nix_client_caches_group'])])

    def peers(self, ctx):
        if ctx.view != 'main':
            return []
        view, accounts = self._wiring(ctx)
        return plan_client.plan(ctx.host, ctx.args, view, {}, accounts)['reach']

    def _wiring(self, ctx):
        """(client_view, accounts): the estate's view of this client and its HTTP cache accounts (secret)."""
        args = ctx.args
        groups_of = {'builder': args['nix_client_builders_group'], 'cache': args['nix_client_caches_group']}
        peers = estate.members(ctx.groups, groups_of['builder']) + estate.members(ctx.groups, groups_of['cache'])
        down = [h for h in peers if h in ctx.unreachable and h != ctx.host]
        if down:
            raise estate.EstateError(' '.join(
                '%s %s could not be reached (%s). Bring it back or take it out of the %s group.'
                % ((ctx.unreachable[h][0] or 'host').capitalize(), h, ctx.unreachable[h][1],
                   groups_of.get(ctx.unreachable[h][0], 'its'))
                for h in down) + ' Nothing was changed on this client.')
        estate.check_store_urls(args['nix_client_substituters'], 'nix_client_substituters')
        estate.check_machines(args['nix_client_builders'], 'nix_client_builders')
        hostvars = ctx.peer_vars(peers)
        accounts = estate.client_netrc(ctx.host, ctx.groups, hostvars, ctx.descriptors, args['nix_client_caches_group'],
                                       args['nix_client_cache_http_login'])
        view = estate.client_view(
            ctx.host, ctx.groups, hostvars, ctx.descriptors, args['nix_client_builders_group'],
            args['nix_client_caches_group'], args['nix_client_ssh_key'], transports=args['nix_client_cache_transports'],
            http_login=args['nix_client_cache_http_login'], custom_builders=args['nix_client_builders'])
        return view, accounts

    def view(self, ctx):
        args = ctx.args
        if ctx.view == 'keys':
            # The entry point "keys": which of root's SSH key, the signing key and their descriptor still hold.
            keys = plan_client.keys_differ(args, ctx.facts['state'])
            published = keys.pop('public')
            result = {'differs': keys, 'signing_public_key': keys.pop('signing_public_key')}
            if not keys['descriptor']:
                result['published'] = {'nixkit_client': published}
            return result
        result, accounts = self._wiring(ctx)
        if ctx.view == 'netrc':
            # Passwords: only for a task that hides its result (no_log).
            return {'entries': plan_client.netrc_entries(args, accounts), 'content': plan_client.netrc(args, accounts)}
        result['plan'] = plan_client.plan(ctx.host, args, result, ctx.facts, accounts)
        # Which of the role's steps still have something to do (a no-op run starts no module on the host).
        state = ctx.facts.get('state') if ctx.facts.get('daemon') else None
        result['differs'] = plan_client.differs(result['plan'], args, state, ctx.facts.get('nixos'),
                                                plan_client.netrc(args, accounts))
        return result

    def state_reads(self, args, view='main'):
        return plan_client.keys_reads(args) if view == 'keys' else plan_client.state_reads(args)

    def not_yet(self, view):
        missing = (view.get('builders_missing') or []) + (view.get('caches_missing') or [])
        if not missing:
            return None
        return ('Not used yet (no descriptor published; run nixkit.nix.nix_builder or nixkit.nix.nix_cache_server '
                'there first): %s' % ', '.join(missing))


class Install(RolePlan):
    probed = True

    def probe_args(self, args):
        packages = []
        if args['nix_install_method'] == 'package':
            packages = ['python3-apt'] + list(args['nix_install_packages'])
        return list(args['nix_install_daemon_users']), packages

    def view(self, ctx):
        # What nix_install needs of the host is the probe itself, and what of its work already holds.
        state = ctx.facts.get('state') if ctx.facts.get('version') else None
        return {'host': dict((k, v) for k, v in ctx.facts.items() if k != 'state'),
                'differs': plan_install.differs(ctx.args, state, ctx.facts.get('nixos'))}

    def state_reads(self, args, view='main'):
        return plan_install.state_reads(args)


class Deploy(RolePlan):
    def view(self, ctx):
        return {'target': plan_deploy.target(ctx.host, ctx.peer_vars([ctx.host]), ctx.args)}


PLANS = {
    'nix_builder': Builder(),
    'nix_cache_server': Cache(),
    'nix_client': Client(),
    'nix_install': Install(),
    'nixos_deploy': Deploy(),
}


def descriptor_reads(role, groups, args, published):
    """The descriptors ``role`` must read from their hosts: [{host, kind[, path]}], in inventory order, each once;
    those published in this run (``published``: host -> kinds) are not read."""
    out, seen = [], set()
    for host, kind in PLANS[role].wanted(groups, args):
        if not host or (host, kind) in seen or kind in (published.get(host) or ()):
            continue
        seen.add((host, kind))
        read = {'host': host, 'kind': kind}
        if kind == 'cache' and args.get('nix_client_cache_descriptor_path'):
            read['path'] = args['nix_client_cache_descriptor_path']
        out.append(read)
    return out
