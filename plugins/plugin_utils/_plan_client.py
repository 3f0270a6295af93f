# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_client's plan: everything the role makes true on a client, computed once, on the controller.

From the role's typed variables (``args``, full names), the estate's view of the client (``view``:
``_estate.client_view``: builders as machines entries, caches, pins, ssh_config) and the host probe. The
role's tasks apply it: on Debian the machines file, the settings file, root's ssh_config drop-in and pins;
on NixOS the same settings, builders and pins as one module's definitions (NixOS writes the builders line
itself, from nix.buildMachines). The credentials of HTTP caches are a secret: ``netrc()`` composes them for
a task whose result is hidden; the plan only says whether there are any."""

from __future__ import annotations

import posixpath

from ansible_collections.nixkit.nix.plugins.module_utils import _descriptor as descriptor_file
from ansible_collections.nixkit.nix.plugins.module_utils import _nix_machines as nix_machines
from ansible_collections.nixkit.nix.plugins.plugin_utils import _state_probe as state_probe
from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate
from ansible_collections.nixkit.nix.plugins.plugin_utils._estate import EstateError


def netrc_entries(args, accounts):
    """The netrc entries: the inventory's HTTP cache accounts (``_estate.client_netrc``), then nix_client_netrc."""
    given = args.get('nix_client_netrc') or []
    wrong = [n for n, e in enumerate(given)
             if not isinstance(e, dict) or not all(str(e.get(k) or '').strip() and ' ' not in str(e.get(k))
                                                   for k in ('machine', 'login', 'password'))]
    if wrong:
        # Never the values: they hold passwords.
        raise EstateError('nix_client_netrc takes {machine, login, password} entries, each a non-empty word; entries %s '
                          'are not like that.' % ', '.join(str(n + 1) for n in wrong))
    return list(accounts) + [{'machine': str(e['machine']), 'login': str(e['login']), 'password': str(e['password'])}
                             for e in given]


def netrc(args, accounts):
    """The netrc file's content (secret)."""
    return ''.join('machine %(machine)s login %(login)s password %(password)s\n' % e for e in netrc_entries(args, accounts))


def plan(host, args, view, probe, accounts=()):
    """The client's desired state: {settings, common_settings, machines, ssh_config, netrc, nixos_definitions,
    nixos_rebuild}. ``accounts``: _estate.client_netrc's entries (only whether there are any is returned)."""
    has_netrc = bool(netrc_entries(args, accounts))
    common = {
        'builders-use-substitutes': args['nix_client_builders_use_substitutes'],
        'build-poll-interval': args['nix_client_build_poll_interval'],
        'extra-secret-key-files': [args['nix_client_signing_secret']],
        'extra-substituters': list(view['substituters']) + list(args['nix_client_substituters']),
        'extra-trusted-public-keys': estate.unique(list(view['cache_keys']) + list(args['nix_client_trusted_public_keys'])),
        'require-sigs': True,
    }
    if args.get('nix_client_max_jobs') is not None:
        common['max-jobs'] = args['nix_client_max_jobs']
    if has_netrc:
        common['netrc-file'] = args['nix_client_netrc_path']
    definitions = {'nix.settings': common}
    if view['ssh_config'].strip():
        definitions['programs.ssh.extraConfig'] = view['ssh_config']
    return {
        'settings': dict({'builders': '@' + args['nix_client_machines_path']}, **common),
        'common_settings': common,
        'machines': list(view['builders']),
        'pins': list(view['pins']),
        # Every builder and cache as root's daemon reaches it: SSH ones as the preflight does, HTTP ones by their URL
        # (with the netrc of the settings); names without spaces, an HTTP cache's with /http.
        'reach': list(view['reach']) + [
            {'name': cache['host'] + '/http', 'kind': 'cache', 'store': cache['url'], 'sshopts': ''}
            for cache in view.get('caches') or [] if cache.get('transport') == 'http'],
        'ssh_config': ('# Managed by nixkit.nix.nix_client: how root\'s Nix daemon reaches the builders and caches.\n'
                       + view['ssh_config']),
        'netrc': has_netrc,
        'nixos_definitions': definitions,
        'nixos_rebuild': (list(args['nix_client_nixos_rebuild_command'])
                          if args['nix_client_nixos_rebuild'] else []),
    }


KNOWN_HOSTS = '/root/.ssh/known_hosts'
SECRET_FILE = '0:0:600'


def state_reads(args):
    """What the estate action's state probe reads for this client (``_state_probe.command``'s arguments)."""
    return dict(files=[args['nix_client_ssh_config_path'], args['nix_client_machines_path'],
                       posixpath.dirname(args['nix_client_settings_path']), args['nix_client_settings_path'],
                       args['nix_client_netrc_path']],
                includes=[(args['nix_client_conf_path'], args['nix_client_settings_path'])],
                lines=[KNOWN_HOSTS])


def differs(plan, args, state, nixos, netrc_text):
    """{step: whether it still has something to do} for the client's configure tasks, ``any`` of them (the
    preflight's checks guard writes: with nothing to write they have nothing to guard), every one on NixOS or where
    the probe cannot tell; ``reach``: a builder or SSH cache did not answer the probe. ``netrc_text``: the netrc's
    content (secret: only compared here, never returned)."""
    steps = ('pins', 'ssh_config', 'machines', 'netrc', 'settings_dir', 'settings', 'include')
    if nixos or not state:
        out = dict((step, True) for step in steps)
        out['any'] = out['reach'] = True
        return out
    known = set(state['lines'].get(KNOWN_HOSTS) or [])
    settings_path = args['nix_client_settings_path']
    netrc_path = args['nix_client_netrc_path']
    out = {
        'pins': not all('%s %s' % (pin['name'], pin['key']) in known for pin in plan['pins']),
        'ssh_config': not state_probe.holds(state, args['nix_client_ssh_config_path'], plan['ssh_config']),
        # nix_machines and nix_conf leave the files' modes alone: only the content counts.
        'machines': not state_probe.holds_text(state, args['nix_client_machines_path'],
                                               nix_machines.render(nix_machines.machines(plan['machines']))),
        'netrc': (not state_probe.holds(state, netrc_path, netrc_text, SECRET_FILE) if plan['netrc']
                  else state['files'].get(netrc_path) is not None),
        'settings_dir': not state_probe.holds(state, posixpath.dirname(settings_path), None, state_probe.ROOT_DIR),
        'settings': not state_probe.holds_text(state, settings_path, state_probe.settings_text(plan['settings'])),
        'include': not state['includes'].get((args['nix_client_conf_path'], settings_path)),
    }
    out['any'] = any(out.values())
    # Every builder and SSH cache still answers as the daemon reaches it; else the preflight says why in detail.
    out['reach'] = not all(state['peers'].get(peer['name']) for peer in plan['reach'])
    return out


CLIENT_DESCRIPTOR = '/etc/nix/nixkit-client.json'
SSH_DIR = '0:0:700'


def keys_reads(args):
    """What the state probe reads for the entry point "keys": root's SSH key, the signing key, the descriptor."""
    ssh_key = args['nix_client_ssh_key']
    return dict(files=[posixpath.dirname(ssh_key), ssh_key, ssh_key + '.pub', args['nix_client_signing_secret'],
                       args['nix_client_signing_public'], CLIENT_DESCRIPTOR],
                lines=[ssh_key + '.pub', args['nix_client_signing_public']], derive=[args['nix_client_signing_secret']])


def keys_differ(args, state):
    """{step: still to do} for the keys entry point, ``public``: the public halves when both keys hold (what the
    descriptor publishes), ``signing_public_key``: the signing key's when it holds. The signing pair holds as
    nix_signing_key leaves it: the secret root's alone (0600), the public file 0644 and derived from it, under the
    key's name."""
    ssh_key, secret, public = (args['nix_client_ssh_key'], args['nix_client_signing_secret'],
                               args['nix_client_signing_public'])
    files, lines = state['files'], state['lines']
    derived = state['derived'].get(secret) or ''
    written = (lines.get(public) or [''])[0].strip()
    out = {
        'ssh_dir': not state_probe.holds(state, posixpath.dirname(ssh_key), None, SSH_DIR),
        'ssh_key': not (files.get(ssh_key) and files.get(ssh_key + '.pub')),
        'signing': not (state_probe.holds(state, secret, stat=SECRET_FILE, content=False)
                        and (files.get(public) or {}).get('stat') == state_probe.ROOT_FILE
                        and derived and derived == written
                        and derived.partition(':')[0] == args['nix_client_signing_key_name']),
    }
    ssh_public = (lines.get(ssh_key + '.pub') or [''])[0].strip()
    published = None
    if not out['ssh_key'] and not out['signing'] and ssh_public:
        published = {'ssh_public_key': ssh_public, 'signing_public_key': derived}
    out['descriptor'] = (published is None
                         or not state_probe.holds(state, CLIENT_DESCRIPTOR, descriptor_file.render(published)))
    out['public'] = published
    # For a descriptor to write when the signing key's task does not run.
    out['signing_public_key'] = '' if out['signing'] else derived
    return out
