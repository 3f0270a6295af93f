# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The estate model: what each host of the inventory needs to know about the others.

Pure Python over plain data, so that unit tests reach every inventory shape:
- ``groups``: group name -> host names, in inventory order;
- ``hostvars``: host name -> the inventory variables named in PEER_VARIABLES (any source: YAML,
  INI strings, ``-e``), already templated;
- ``descriptors``: host name -> {kind: content} for what hosts published about themselves
  (``client``, ``builder``, ``cache``; written by the roles with ``nixkit.nix.descriptor``).

Roles never read each other's variables: each one asks the model for its view (``builder_view``,
``cache_view``, ``client_view``), through the ``nixkit.nix.estate`` action and the table of ``_role_plans``.
"""

from __future__ import annotations

import base64
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from ansible_collections.nixkit.nix.plugins.module_utils import _nix_conf as nix_conf
from ansible_collections.nixkit.nix.plugins.module_utils import _nix_machines as nix_machines

# The collection-wide group variables and their defaults: the only place they are defined.
GROUP_VARIABLES = {
    'builders': ('nixkit_builders_group', 'nix_builders'),
    'caches': ('nixkit_caches_group', 'nix_caches'),
    'clients': ('nixkit_clients_group', 'nix_clients'),
    'nixos_targets': ('nixkit_nixos_targets_group', 'nixos_targets'),
    # Hosts taken out of the estate: playbooks/retire.yml removes what let others in.
    'retired': ('nixkit_retired_group', 'nix_retired'),
}

# What the model reads of a peer's inventory variables (and nothing else). How other Nix hosts
# reach a host: nixkit_address / nixkit_ssh_port override what the controller uses (ansible_host,
# ansible_port); nixkit_ssh_options adds ssh_config options (ProxyJump, ...) for root's daemon.
PEER_VARIABLES = (
    'ansible_host', 'ansible_port',
    'nixkit_address', 'nixkit_ssh_port', 'nixkit_ssh_options',
    # An HTTP cache's accounts: each client gets its own (see client_netrc).
    'nix_cache_server_http_users',
)

DESCRIPTOR_KINDS = ('client', 'builder', 'cache')

SSH_PUBLIC_KEY_RE = re.compile(
    r'^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( .*)?$')
NIX_PUBLIC_KEY_RE = re.compile(r'^[A-Za-z0-9._-]+:[A-Za-z0-9+/]{43}=$')
SSH_OPTION_RE = re.compile(r'^[A-Za-z][A-Za-z0-9]*$')
# A host name or address as ssh and Nix's store URLs take it.
ADDRESS_RE = re.compile(r'^[A-Za-z0-9._:-]+$')
# Options the model writes itself: a user's value would break the pinning or the address.
RESERVED_SSH_OPTIONS = {'hostname', 'port', 'hostkeyalias', 'userknownhostsfile', 'stricthostkeychecking'}


# The oldest Nix the builder, client and cache roles work with. 2.16 is the first whose client builds
# over ssh-ng as an untrusted user (it copies the derivation when the builder says it does not trust
# the user, which daemons report since 2.15); older clients send builds only a trusted user may run
# ("you are not privileged to build input-addressed derivations"). Tried on Debian 12's Nix 2.8.
NIX_MINIMUM = (2, 16)
NIX_VERSION_RE = re.compile(r'(\d+)\.(\d+)(?:\.(\d+))?')


class EstateError(ValueError):
    """A value of the inventory the model cannot use; the message names the variable and the fix."""


def group_name(kind, variables):
    """The group of ``kind`` ('builders', ...), from its collection-wide variable or the default."""
    var, default = GROUP_VARIABLES[kind]
    value = variables.get(var) if variables else None
    if value in (None, ''):
        return default
    if not isinstance(value, str):
        raise EstateError('%s must be a group name (a string), got %r' % (var, value))
    return value


def members(groups, name):
    """Hosts of a group, in inventory order; a group that does not exist has none."""
    return list(groups.get(name) or [])


def _int(value, var, host, low=0, high=None):
    """An integer from any inventory source ('2222' from INI counts); the error names the variable."""
    if isinstance(value, bool):
        raise EstateError('%s of %s must be a number, got %r' % (var, host, value))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise EstateError('%s of %s must be a number, got %r' % (var, host, value)) from None
    if number < low or (high is not None and number > high):
        raise EstateError('%s of %s must be between %d and %d, got %d' % (var, host, low, high or number, number))
    return number


def peer_ssh(host, hostvars):
    """How root's Nix daemon on another host reaches ``host`` over SSH: address, port, options."""
    v = hostvars.get(host) or {}
    address = v.get('nixkit_address') or v.get('ansible_host') or host
    if not isinstance(address, str) or not ADDRESS_RE.match(address):
        raise EstateError('nixkit_address (or ansible_host) of %s must be a host name or address, got %r' % (host, address))
    port_var = 'nixkit_ssh_port' if v.get('nixkit_ssh_port') not in (None, '') else 'ansible_port'
    port = v.get(port_var)
    port = 22 if port in (None, '') else _int(port, port_var, host, 1, 65535)
    options = v.get('nixkit_ssh_options') or {}
    if not isinstance(options, dict):
        raise EstateError('nixkit_ssh_options of %s must be a mapping of ssh_config options, e.g. '
                          '{ProxyJump: bastion.example.org}; got %r' % (host, options))
    clean = {}
    for name, value in options.items():
        if not isinstance(name, str) or not SSH_OPTION_RE.match(name):
            raise EstateError('nixkit_ssh_options of %s: %r is not an ssh_config option name' % (host, name))
        if name.lower() in RESERVED_SSH_OPTIONS:
            raise EstateError('nixkit_ssh_options of %s: %s is set by the collection; use nixkit_address '
                              'or nixkit_ssh_port instead' % (host, name))
        text = str(value).lower() if isinstance(value, bool) else str(value)
        text = {'true': 'yes', 'false': 'no'}.get(text, text)
        if not text or '\n' in text:
            raise EstateError('nixkit_ssh_options of %s: %s needs a one-line value' % (host, name))
        clean[name] = text
    return {'name': host, 'address': address, 'port': port, 'options': clean}


# How the controller reaches a host (what a delegated read uses): not nixkit_address / nixkit_ssh_port,
# which say how the other Nix hosts reach it.
CONNECTION_VARIABLES = ('ansible_host', 'ansible_port', 'ansible_connection')
# Connections that go to an SSH port (the others, local or podman, are not probed).
SSH_CONNECTIONS = (None, '', 'ssh', 'ansible.builtin.ssh', 'smart', 'paramiko', 'paramiko_ssh',
                   'ansible.builtin.paramiko_ssh', 'ansible.netcommon.libssh')
# Seconds a peer's SSH port may take to answer, unless the role has its own variable for it.
PROBE_TIMEOUT = 10


def controller_ssh(host, hostvars):
    """(address, port) where the controller's SSH reaches ``host``, or None when it does not use SSH.

    The same fallbacks and typing as peer_ssh: ansible_host, else the inventory name; ansible_port
    ('2222' from INI counts), else 22."""
    v = hostvars.get(host) or {}
    if v.get('ansible_connection') not in SSH_CONNECTIONS:
        return None
    address = v.get('ansible_host') or host
    if not isinstance(address, str) or not address.strip():
        raise EstateError('ansible_host of %s must be a host name or address, got %r' % (host, address))
    port = v.get('ansible_port')
    port = 22 if port in (None, '') else _int(port, 'ansible_port', host, 1, 65535)
    return address.strip(), port


def _probe_one(target, timeout, connect):
    address, port = target
    try:
        connect((address, port), timeout).close()
    except socket.timeout:
        return 'nothing answered on %s port %d within %g s' % (address, port, timeout)
    except OSError as exc:
        return '%s port %d: %s' % (address, port, exc.strerror or exc)
    return None


def probe_ports(targets, timeout=PROBE_TIMEOUT, connect=socket.create_connection):
    """The hosts whose SSH port does not take a TCP connection: {host: why}, all probed at once.

    ``targets``: host -> (address, port). A delegated read of a host that is down ends the play
    (ansible-core 2.19, even with ignore_unreachable), so such hosts are not read but named."""
    if not targets:
        return {}
    hosts = list(targets)
    with ThreadPoolExecutor(max_workers=min(32, len(hosts))) as pool:
        answers = list(pool.map(lambda h: _probe_one(targets[h], timeout, connect), hosts))
    return {h: why for h, why in zip(hosts, answers) if why}


def _descriptor(descriptors, host, kind):
    found = (descriptors.get(host) or {}).get(kind)
    return found if isinstance(found, dict) and found else None


def _client_keys(descriptors, clients):
    """(found, keyless): each client's published public keys, and the clients that have none yet."""
    found, keyless = [], []
    for client in clients:
        d = _descriptor(descriptors, client, 'client')
        if d and d.get('ssh_public_key'):
            found.append({'host': client, 'ssh_public_key': d['ssh_public_key'].strip(),
                          'signing_public_key': (d.get('signing_public_key') or '').strip()})
        else:
            keyless.append(client)
    return found, keyless


def unique(values):
    """The values in their first order, each once, empty ones left out."""
    seen, out = set(), []
    for value in values:
        if value and value not in seen:
            seen.add(value)
            out.append(value)
    return out


def check_keys(values, var, pattern, what):
    """Refuse a list of keys with one that is not a key (before anything is written)."""
    if not isinstance(values, list):
        raise EstateError('%s must be a list of %s' % (var, what))
    bad = [v for v in values if not isinstance(v, str) or not pattern.match(v.strip())]
    if bad:
        raise EstateError('%s takes %s; these are not: %s' % (var, what, ', '.join(repr(b) for b in bad)))
    return [v.strip() for v in values]


def check_store_urls(values, var):
    """Refuse substituter URLs Nix cannot open, naming the variable the user set."""
    for value in values:
        problem = nix_conf.store_url_problem(str(value))
        if problem:
            suggestion = nix_conf.suggest_store_url(str(value))
            raise EstateError('%s: %s%s. Give store URLs with a scheme (https://, ssh-ng://, s3://, file:///...).'
                              % (var, problem, '; did you mean %r?' % suggestion if suggestion else ''))
    return list(values)


def check_machines(entries, var):
    """Refuse machines-file entries the user gave that nix_machines would refuse, naming the variable."""
    try:
        nix_machines.machines(entries)
    except (nix_machines.NixMachinesError, TypeError, ValueError) as exc:
        raise EstateError('%s: %s' % (var, exc)) from None
    return entries


def builder_view(host, groups, descriptors, clients_group, extra_ssh_keys=(), extra_signing_keys=()):
    """What builder ``host`` authorizes: exactly the current clients' keys plus the extra ones."""
    clients = [c for c in members(groups, clients_group) if c != host]
    found, keyless = _client_keys(descriptors, clients)
    return {
        'clients': [c['host'] for c in found],
        'keyless_clients': keyless,
        'ssh_keys': unique([c['ssh_public_key'] for c in found] + list(extra_ssh_keys)),
        'signing_keys': unique([c['signing_public_key'] for c in found] + list(extra_signing_keys)),
    }


def cache_view(host, groups, descriptors, clients_group, writers, extra_ssh_keys=()):
    """What cache ``host`` authorizes: the current clients read, the writers it names also upload."""
    inventory = set(h for hosts in groups.values() for h in hosts)
    unknown = [w for w in writers if w not in inventory]
    if unknown:
        raise EstateError('nix_cache_server_ssh_writers names hosts of the inventory; %s %s not in it. '
                          'Add them to the inventory or remove them from the list.'
                          % (', '.join(unknown), 'is' if len(unknown) == 1 else 'are'))
    readers = [c for c in unique(members(groups, clients_group) + list(writers)) if c != host]
    found, keyless = _client_keys(descriptors, readers)
    writer_set = set(writers)
    writer_keys = unique([c['ssh_public_key'] for c in found if c['host'] in writer_set])
    reader_keys = [k for k in unique([c['ssh_public_key'] for c in found] + list(extra_ssh_keys)) if k not in writer_keys]
    return {
        'clients': [c['host'] for c in found],
        'keyless_clients': keyless,
        'reader_keys': reader_keys,
        'writer_keys': writer_keys,
        'upload_keys': unique([c['signing_public_key'] for c in found if c['host'] in writer_set]),
    }


def _machines_entry(ssh, d, ssh_key, builder):
    try:
        return {
            'host': ssh['address'],
            'protocol': d.get('protocol') or 'ssh-ng',
            'user': d.get('user') or '',
            'systems': list(d['systems']),
            'ssh_key': ssh_key,
            'max_jobs': int(d['max_jobs']),
            'speed_factor': int(d.get('speed_factor') or 1),
            'supported_features': list(d.get('supported_features') or []),
            'mandatory_features': list(d.get('mandatory_features') or []),
            'public_host_key': d['host_key'],
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise EstateError('the builder descriptor of %s is incomplete (%s); run nixkit.nix.nix_builder there '
                          'again to rewrite it' % (builder, exc)) from None


def client_view(host, groups, hostvars, descriptors, builders_group, caches_group, ssh_key,
                transports=('ssh', 'http'), http_login=None, custom_builders=None):
    """Everything client ``host`` is pointed at: builders (machines entries), caches, ssh_config."""
    builders, builders_missing, ssh_hosts = [], [], []
    if custom_builders:
        # nix_client_builders replaces the inventory's builders (nix_machines validates each entry).
        for entry in custom_builders:
            builders.append(dict(entry))
            if entry.get('host') and entry.get('public_host_key'):
                ssh_hosts.append({'name': entry['host'], 'address': entry['host'], 'port': 22, 'options': {},
                                  'host_key': entry['public_host_key']})
        builders_group = None
    for builder in members(groups, builders_group) if builders_group else []:
        if builder == host:
            continue  # a host in both groups builds locally, not over SSH to itself
        d = _descriptor(descriptors, builder, 'builder')
        if not d:
            builders_missing.append(builder)
            continue
        ssh = peer_ssh(builder, hostvars)
        builders.append(_machines_entry(ssh, d, ssh_key, builder))
        ssh_hosts.append(dict(ssh, host_key=d['host_key']))

    caches, caches_missing, no_account = [], [], []
    for cache in members(groups, caches_group):
        if cache == host:
            continue
        d = _descriptor(descriptors, cache, 'cache')
        if not d:
            caches_missing.append(cache)
            continue
        keys = list(d.get('public_keys') or [])
        if 'ssh' in transports and d.get('ssh'):
            ssh = peer_ssh(cache, hostvars)
            url = d['ssh']['url']
            address = url.split('@')[-1]
            ssh['address'] = address  # the cache names the address it serves on
            caches.append({'host': cache, 'transport': 'ssh', 'public_keys': keys, 'url': url,
                           'address': address, 'host_key': d['ssh']['host_key'],
                           'writers': list(d['ssh'].get('writers') or [])})
            ssh_hosts.append(dict(ssh, host_key=d['ssh']['host_key']))
        if 'http' in transports and d.get('http'):
            url = d['http']['url']
            auth = bool(d['http'].get('auth'))
            entry = {'host': cache, 'transport': 'http', 'public_keys': keys, 'url': url,
                     'machine': url.split('://', 1)[-1].split('/')[0].rsplit(':', 1)[0], 'auth': auth,
                     'login': http_login or host}
            if auth and not _account(hostvars, cache, entry['login']):
                no_account.append(cache)
            caches.append(entry)
    if no_account:
        raise EstateError(
            '%s serve%s HTTP with basic auth but list no account named %s in nix_cache_server_http_users. '
            'Add one there (password from a vault), set nix_client_cache_http_login to an existing account, '
            'or use the SSH transport only (nix_client_cache_transports: [ssh]).'
            % (', '.join(no_account), 's' if len(no_account) == 1 else '', http_login or host))

    return {
        'builders': builders,
        'builders_missing': builders_missing,
        'caches': caches,
        'caches_missing': caches_missing,
        'substituters': unique(_cache_url(c, ssh_key) for c in caches),
        'cache_keys': unique(k for c in caches for k in c['public_keys']),
        'reach': _reach(builders, caches, ssh_hosts, ssh_key),
        'pins': [{'name': h['address'], 'key': h['host_key']} for h in _pinned(ssh_hosts)],
        'ssh_config': ssh_config(ssh_hosts),
    }


def _cache_url(cache, ssh_key):
    if cache['transport'] != 'ssh':
        return cache['url']
    return '%s?ssh-key=%s&base64-ssh-public-host-key=%s' % (
        cache['url'], quote(ssh_key, safe=''), quote(base64.b64encode(cache['host_key'].encode()).decode(), safe=''))


def _store_url(entry):
    entry = dict({'protocol': 'ssh-ng', 'user': ''}, **entry)
    query = []
    if entry.get('ssh_key'):
        query.append('ssh-key=' + quote(entry['ssh_key'], safe=''))
    if entry.get('public_host_key'):
        query.append('base64-ssh-public-host-key=' + quote(base64.b64encode(entry['public_host_key'].encode()).decode(), safe=''))
    user = (entry['user'] + '@') if entry.get('user') else ''
    return '%s://%s%s%s' % (entry['protocol'], user, entry['host'], ('?' + '&'.join(query)) if query else '')


def nix_sshopts(ssh):
    """NIX_SSHOPTS for reaching a peer before the ssh_config drop-in exists (split on spaces by Nix)."""
    opts = []
    if ssh['port'] != 22:
        opts += ['-p', str(ssh['port']), '-o', 'HostKeyAlias=' + ssh['address']]
    for name, value in sorted(ssh['options'].items()):
        if ' ' not in value:  # NIX_SSHOPTS is split on spaces; the drop-in carries the others
            opts += ['-o', '%s=%s' % (name, value)]
    return ' '.join(opts)


def _reach(builders, caches, ssh_hosts, ssh_key):
    """How the client's preflight reaches each builder and SSH cache, as the daemon will."""
    by_address = dict((h['address'], h) for h in ssh_hosts)
    default = {'port': 22, 'options': {}}
    out = []
    for entry in builders:
        ssh = by_address.get(entry['host'], dict(default, name=entry['host'], address=entry['host']))
        out.append({'name': ssh['name'], 'kind': 'builder', 'store': _store_url(entry), 'sshopts': nix_sshopts(ssh)})
    for cache in caches:
        if cache['transport'] == 'ssh':
            out.append({'name': cache['host'], 'kind': 'cache', 'store': _cache_url(cache, ssh_key),
                        'sshopts': nix_sshopts(by_address[cache['address']])})
    return out


def _pinned(ssh_hosts):
    seen, out = set(), []
    for h in ssh_hosts:
        if h['address'] not in seen:
            seen.add(h['address'])
            out.append(h)
    return out


def ssh_config(ssh_hosts):
    """ssh_config blocks for the builders and SSH caches that need more than the defaults.

    Nix ignores ports in store URIs, so the port reaches its ssh here. Host keys stay Nix's own
    pins (the machines-file column, base64-ssh-public-host-key): no known_hosts file is named, which
    would let ssh accept a key the pin does not hold. HostKeyAlias keeps the lookup in Nix's pin
    file at the plain address: with a port, ssh would look the key up as "[address]:port"."""
    blocks = []
    for h in _pinned(ssh_hosts):
        if h['port'] == 22 and not h['options']:
            continue
        lines = ['Host %s' % h['address'], '  # %s' % h['name']]
        if h['port'] != 22:
            lines += ['  Port %d' % h['port'], '  HostKeyAlias %s' % h['address']]
        lines += ['  %s %s' % (k, v) for k, v in sorted(h['options'].items())]
        blocks.append('\n'.join(lines) + '\n')
    return '\n'.join(blocks)


def _account(hostvars, cache, login):
    users = (hostvars.get(cache) or {}).get('nix_cache_server_http_users') or []
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and user.get('name') == login:
            return user
    return None


def client_netrc(host, groups, hostvars, descriptors, caches_group, http_login=None):
    """netrc entries for the HTTP caches with auth (secret: callers hide the result)."""
    entries = []
    for cache in members(groups, caches_group):
        d = _descriptor(descriptors, cache, 'cache')
        if cache == host or not d or not d.get('http') or not d['http'].get('auth'):
            continue
        account = _account(hostvars, cache, http_login or host)
        if account:
            url = d['http']['url']
            entries.append({'host': cache, 'machine': url.split('://', 1)[-1].split('/')[0].rsplit(':', 1)[0],
                            'login': account['name'], 'password': str(account.get('password') or '')})
    return entries


def parse_nix_version(text):
    """(major, minor, patch) from `nix --version` ("nix (Nix) 2.26.3", "nix (Lix, like Nix) 2.93.0"), or None."""
    words = (text or '').strip().splitlines()
    match = NIX_VERSION_RE.search(words[0].split()[-1]) if words and words[0].split() else None
    return tuple(int(part or 0) for part in match.groups()) if match else None


def nix_version_problem(version, role, host):
    """None when ``version`` is new enough for ``role``; else what to do. None also when Nix is missing
    (the role's own preflight says so)."""
    if version is None or version[:2] >= NIX_MINIMUM:
        return None
    return ('%s needs Nix %d.%d or newer on %s, which has %s: older clients cannot build on a builder that does not '
            'trust them ("you are not privileged to build input-addressed derivations"). Install a newer Nix, e.g. with '
            'nixkit.nix.nix_install and nix_install_method=installer (nix_install_installer_url and '
            'nix_install_installer_checksum, or nix_install_installer_file), then run again. Nothing was changed.'
            % (role, NIX_MINIMUM[0], NIX_MINIMUM[1], host, '.'.join(str(p) for p in version)))
