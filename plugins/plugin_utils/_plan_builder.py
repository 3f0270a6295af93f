# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_builder's plan: everything the role makes true on a builder, computed once, on the controller.

From the role's typed variables (``args``, full names), the estate's view of the builder (``view``:
``_estate.builder_view``, the clients' keys) and the host probe (``probe``: ``_install_probe.parse``, the
path of nix-daemon). The role's tasks only apply it: the Nix settings (a file of the builder's own, or
``nix.settings`` on NixOS), the build user's authorized keys, sshd's MaxStartups, and on NixOS the same
as one module's definitions, so that Debian and NixOS cannot drift apart (a unit test compares them)."""

from __future__ import annotations

import posixpath

from ansible_collections.nixkit.nix.plugins.module_utils import _descriptor as descriptor_file
from ansible_collections.nixkit.nix.plugins.plugin_utils import _authorized_keys as authorized_keys
from ansible_collections.nixkit.nix.plugins.plugin_utils import _state_probe as state_probe
from ansible_collections.nixkit.nix.plugins.plugin_utils._estate import EstateError

# sshd's own default for MaxStartups' first number; a builder never goes below it.
SSHD_DEFAULT_STARTUPS = 10
# Connections each client's daemon may open at once (one per remote build, a few in parallel).
STARTUPS_PER_CLIENT = 4


def check(args):
    """Refuse variables that do not fit together, before anything is written."""
    if args['nix_builder_protocol'] != 'ssh-ng' and not args['nix_builder_trusted']:
        raise EstateError(
            'nix_builder_protocol=%s: the legacy "ssh" protocol only builds for trusted users (Nix says "you are not '
            'privileged to build input-addressed derivations"). Keep the default "ssh-ng", or set nix_builder_trusted=true '
            'to make %s a trusted user.' % (args['nix_builder_protocol'], args['nix_builder_user']))


def settings(args, view):
    """The builder's nix.conf settings (its own file, owned whole: turning trust off takes it back)."""
    out = {
        # extra-: Nix's default keys (cache.nixos.org) stay trusted.
        'extra-trusted-public-keys': list(view['signing_keys']),
        'max-jobs': args['nix_builder_max_jobs'],
        'cores': args['nix_builder_cores'],
    }
    if args['nix_builder_system_features']:
        out['system-features'] = list(args['nix_builder_system_features'])
    if args['nix_builder_trusted']:
        out['extra-trusted-users'] = [args['nix_builder_user']]
    return out


def max_startups(args, view):
    """sshd's MaxStartups start:rate:full, sized to the clients unless given."""
    start = args['nix_builder_sshd_max_startups']
    if start <= 0:
        start = max(SSHD_DEFAULT_STARTUPS, STARTUPS_PER_CLIENT * len(view['ssh_keys']))
    return '%d:30:%d' % (start, 3 * start)


def plan(host, args, view, probe):
    """The builder's desired state: {settings, forced_command, key_lines, authorized_keys, max_startups,
    sshd_dropin, nixos_definitions, nixos_rebuild}."""
    check(args)
    forced = authorized_keys.forced_command(probe.get('daemon') or '', args['nix_builder_protocol'], write=True)
    lines = [authorized_keys.restricted(key, forced) for key in view['ssh_keys']]
    nix_settings = settings(args, view)
    startups = max_startups(args, view)
    user = args['nix_builder_user']
    return {
        'settings': nix_settings,
        'forced_command': forced,
        'key_lines': lines,
        'authorized_keys': authorized_keys.file_content(
            'Managed by nixkit.nix.nix_builder: keys that may run %s only.' % forced, lines),
        'max_startups': startups,
        'sshd_dropin': ('# Managed by nixkit.nix.nix_builder: room for the clients\' remote builds at once.\n'
                        'MaxStartups %s\n' % startups),
        # NixOS generates nix.conf and its users: the same settings, user and keys as module definitions.
        'nixos_definitions': {
            'nix.settings': nix_settings,
            'users.users.' + user: {
                'isSystemUser': True, 'group': user, 'home': args['nix_builder_home'], 'createHome': True,
                'useDefaultShell': True, 'description': 'Remote builds for the clients of nixkit.nix',
                'openssh.authorizedKeys.keys': lines},
            'users.groups.' + user: {},
            'services.openssh.settings.MaxStartups': startups,
        },
        'nixos_rebuild': list(args['nix_builder_nixos_rebuild_command']) if args['nix_builder_nixos_rebuild'] else [],
    }


DESCRIPTOR_PATH = '/etc/nix/nixkit-builder.json'


def state_reads(args):
    """What the estate action's state probe reads for this builder (``_state_probe.command``'s arguments)."""
    ssh_dir = posixpath.join(args['nix_builder_home'], '.ssh')
    files = [posixpath.dirname(args['nix_builder_settings_path']), args['nix_builder_settings_path'],
             ssh_dir, posixpath.join(ssh_dir, 'authorized_keys'), DESCRIPTOR_PATH]
    if args['nix_builder_sshd_dropin']:
        files.append(args['nix_builder_sshd_dropin'])
    return dict(files=files, includes=[(args['nix_builder_conf_path'], args['nix_builder_settings_path'])],
                accounts=[args['nix_builder_user']], daemon_users=[args['nix_builder_user']], config=True, host_key=True)


def descriptor(args, state):
    """The builder's descriptor as publish.yml writes it, from what this Nix uses now; None when unsure."""
    config = state['config']
    try:
        return {
            'host_key': state['host_key'] or None,
            'user': args['nix_builder_user'],
            'protocol': args['nix_builder_protocol'],
            'systems': [config['system']] + config.get('extra-platforms', '').split(),
            'supported_features': config['system-features'].split(),
            'mandatory_features': list(args['nix_builder_mandatory_features']),
            'max_jobs': int(config['max-jobs']),
            'speed_factor': args['nix_builder_speed_factor'],
        } if state['host_key'] else None
    except (KeyError, ValueError):
        return None


def differs(plan, args, state, nixos):
    """{step: whether it still has something to do} for the role's tasks, and ``any``; every step counts as
    differing on NixOS (its module is compared by nixos_module itself) and wherever the probe cannot tell."""
    steps = ('user', 'ssh_dir', 'authorized_keys', 'sshd_dropin', 'settings_dir', 'settings', 'include',
             'store_info', 'descriptor')
    if nixos or not state:
        out = dict((step, True) for step in steps)
        out['any'] = True
        return out
    user, home = args['nix_builder_user'], args['nix_builder_home']
    account = state['accounts'].get(user)
    ssh_dir = posixpath.join(home, '.ssh')
    settings_path = args['nix_builder_settings_path']
    out = {
        'user': not (account and account['home'] == home and account['shell'] == '/bin/sh'
                     and args['nix_builder_daemon_group'] in account['groups'] and account['password'] == '*'),
        'ssh_dir': not state_probe.holds(state, ssh_dir, None, state_probe.ROOT_DIR),
        'authorized_keys': not state_probe.holds(state, posixpath.join(ssh_dir, 'authorized_keys'), plan['authorized_keys']),
        'sshd_dropin': bool(args['nix_builder_sshd_dropin'])
        and not state_probe.holds(state, args['nix_builder_sshd_dropin'], plan['sshd_dropin']),
        'settings_dir': not state_probe.holds(state, posixpath.dirname(settings_path), None, state_probe.ROOT_DIR),
        # nix_conf leaves the file's mode alone: only the content counts.
        'settings': not state_probe.holds_text(state, settings_path, state_probe.settings_text(plan['settings'])),
        'include': not state['includes'].get((args['nix_builder_conf_path'], settings_path)),
        'store_info': not state['daemon'].get(user),
    }
    # The descriptor says what this Nix uses: known now only when its settings and their include stay as they are.
    published = None if out['settings'] or out['include'] else descriptor(args, state)
    out['descriptor'] = published is None or not state_probe.holds(state, DESCRIPTOR_PATH, descriptor_file.render(published))
    out['any'] = any(out.values())
    return out
