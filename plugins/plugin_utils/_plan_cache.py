# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_cache_server's plan: everything the role makes true on a cache, computed once, on the controller.

From the role's typed variables (``args``, full names), the estate's view of the cache (``view``:
``_estate.cache_view``, the readers' and writers' keys) and the host probe (``probe``: NixOS or not, the path
of nix-daemon). The role's tasks apply it: on Debian as files, users, packages and units; on NixOS the same
settings, keys, site and retention as one module's definitions. Both paths read the same values here, so
they cannot drift apart (unit tests compare them)."""

from __future__ import annotations

import posixpath
import re

from ansible_collections.nixkit.nix.plugins.plugin_utils import _authorized_keys as authorized_keys
from ansible_collections.nixkit.nix.plugins.plugin_utils._estate import EstateError
from ansible_collections.nixkit.nix.plugins.plugin_utils._plan_builder import STARTUPS_PER_CLIENT, SSHD_DEFAULT_STARTUPS

KEY_NAME_RE = re.compile(r'^[A-Za-z0-9._-]+$')
ACCOUNT_RE = KEY_NAME_RE


def check(args, nixos):
    """Refuse variables the role cannot use, naming them, before anything is written."""
    if nixos and args['nix_cache_server_ssh'] and args['nix_cache_server_ssh_user'] != 'nix-ssh':
        raise EstateError('this host runs NixOS, whose nix.sshServe always serves as nix-ssh; unset nix_cache_server_ssh_user '
                          '(it is %s).' % args['nix_cache_server_ssh_user'])
    names = [args['nix_cache_server_key_name']] + list(args['nix_cache_server_extra_key_names'])
    bad = [n for n in names if not isinstance(n, str) or not KEY_NAME_RE.match(n)]
    if bad or len(set(names)) != len(names):
        raise EstateError(
            'nix_cache_server_key_name and nix_cache_server_extra_key_names (%s): each name once, of letters, digits, '
            '".", "_" and "-", conventionally the host name and a number ("cache.example.org-1").'
            % ', '.join(str(n) for n in names))
    port = args['nix_cache_server_http_port']
    if not 0 < port < 65536:
        raise EstateError('nix_cache_server_http_port must be a TCP port from 1 to 65535, got %d.' % port)
    if args['nix_cache_server_http'] and args['nix_cache_server_http_auth']:
        users = args.get('nix_cache_server_http_users') or []
        wrong = [u for u in users if not isinstance(u, dict) or not ACCOUNT_RE.match(str(u.get('name') or ''))
                 or not str(u.get('password') or '')]
        if not users or wrong:
            # Never the passwords: only how many entries are wrong.
            raise EstateError(
                'nix_cache_server_http=true with basic auth needs nix_cache_server_http_users, a list of {name: ..., '
                'password: ...} with names of letters, digits, ".", "_" or "-" and non-empty passwords (from a vault); '
                '%d entries are not like that. Set nix_cache_server_http_auth=false only to serve the cache to anyone who '
                'reaches port %d.' % (len(wrong), port))


def key_lines(args, view, daemon):
    """nix-ssh's keys, writers first, each bound to its serving command with no shell, forwarding or pty."""
    protocol = args['nix_cache_server_ssh_protocol']
    writer = authorized_keys.forced_command(daemon, protocol, write=True)
    reader = authorized_keys.forced_command(daemon, protocol, write=False)
    return ([authorized_keys.restricted(k, writer) for k in view['writer_keys']]
            + [authorized_keys.restricted(k, reader) for k in view['reader_keys']])


def max_startups(args, view):
    """sshd's MaxStartups start:rate:full, sized to the readers and writers unless given."""
    start = args['nix_cache_server_sshd_max_startups']
    if start <= 0:
        start = max(SSHD_DEFAULT_STARTUPS, STARTUPS_PER_CLIENT * len(view['writer_keys'] + view['reader_keys']))
    return '%d:30:%d' % (start, 3 * start)


def plan(host, args, view, probe):
    """The cache's desired state (see the module docstring); ``view`` as _estate.cache_view returns it."""
    nixos = bool(probe.get('nixos'))
    check(args, nixos)
    secret = posixpath.join(args['nix_cache_server_key_dir'], args['nix_cache_server_key_name'] + '.sec')
    # Files the role keeps outside the store; on NixOS where the system keeps them writable.
    gc_script = '/var/lib/nixkit/nixkit-cache-gc' if nixos else '/usr/local/sbin/nixkit-cache-gc'
    htpasswd = '/var/lib/nixkit/nixkit-cache.htpasswd' if nixos else '/etc/nginx/nixkit-cache.htpasswd'
    # Sign everything built or added here with the cache key. Uploads come from untrusted nix-ssh:
    # only paths signed by a writer's key get in.
    settings = {'extra-secret-key-files': [secret], 'extra-trusted-public-keys': list(view['upload_keys'])}
    lines = key_lines(args, view, probe.get('daemon') or '')
    startups = max_startups(args, view)
    site = {'port': args['nix_cache_server_http_port'], 'root': args['nix_cache_server_http_dir'],
            'auth_file': htpasswd if args['nix_cache_server_http_auth'] else None}
    gc = {
        'description': 'Retention for the Nix cache (nixkit.nix.nix_cache_server)',
        'timer_description': 'Retention for the Nix cache, %s' % args['nix_cache_server_gc_schedule'],
        'service': {'Type': 'oneshot', 'ExecStart': gc_script, 'Nice': 19, 'IOSchedulingClass': 'idle'},
        'timer': {'OnCalendar': args['nix_cache_server_gc_schedule'], 'Persistent': True, 'RandomizedDelaySec': '15min'},
    }

    definitions = {'nix.settings': settings}
    if args['nix_cache_server_ssh']:
        # nix.sshServe forces one command on every key (ForceCommand): a per-key command is moot there and, with
        # writers, every key may write.
        definitions.update({
            'nix.sshServe.enable': True,
            'nix.sshServe.protocol': args['nix_cache_server_ssh_protocol'],
            'nix.sshServe.keys': ['restrict ' + k for k in view['writer_keys'] + view['reader_keys']],
            'services.openssh.settings.MaxStartups': startups,
        })
        if view['writer_keys']:
            definitions['nix.sshServe.write'] = True
    if args['nix_cache_server_http']:
        vhost = {'listen': [{'addr': '0.0.0.0', 'port': site['port']}], 'root': site['root'],
                 'locations': {'/': {'tryFiles': '$uri =404'}}}
        if site['auth_file']:
            vhost['basicAuthFile'] = site['auth_file']
        definitions.update({'services.nginx.enable': True, 'services.nginx.virtualHosts.nixkit-cache': vhost,
                            'networking.firewall.allowedTCPPorts': [site['port']]})
    if args['nix_cache_server_gc']:
        definitions.update({
            'systemd.services.nixkit-cache-gc': {'description': gc['description'], 'after': ['nix-daemon.service'],
                                                 'serviceConfig': gc['service']},
            'systemd.timers.nixkit-cache-gc': {'description': gc['timer_description'], 'wantedBy': ['timers.target'],
                                               'timerConfig': gc['timer']},
        })

    return {
        'nixos': nixos,
        'secret': secret,
        'settings': settings,
        'key_lines': lines,
        'authorized_keys': authorized_keys.file_content(
            'Managed by nixkit.nix.nix_cache_server: keys that may only serve the Nix store.', lines),
        'max_startups': startups,
        # nix-store beside nix-daemon: what the retention script runs.
        'nix_bin': posixpath.dirname(probe.get('daemon') or '/usr/bin/nix-daemon'),
        'gc_script': gc_script,
        'htpasswd': htpasswd,
        'site': site,
        'gc': gc,
        'nixos_definitions': definitions,
        'nixos_rebuild': (list(args['nix_cache_server_nixos_rebuild_command'])
                          if args['nix_cache_server_nixos_rebuild'] else []),
    }
