#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nix_store_info
short_description: Check that a Nix store can be reached, and how
version_added: 0.1.0
description:
  - Opens a Nix store from the managed host, as a given local user, with C(nix store info) (or
    C(nix store ping) on Nix older than 2.19), and reports whether it answered, the Nix version at
    the other end and whether the user is trusted there.
  - Run it as C(root) to see what the Nix daemon sees when it reaches remote builders and SSH
    caches, as the daemon connects as root, with root's SSH key and C(known_hosts).
  - When the store cannot be reached it names the cause (unknown or changed host key, refused SSH
    key, nothing answering, no Nix on the remote side, a user the store does not let in, no binary
    cache at the URL) in plain words next to the raw error.
  - Read-only. SSH runs in batch mode, so it never waits at a prompt, never accepts an unknown host
    key and never updates C(known_hosts). HTTP stores are asked afresh, not from the user's cache
    of earlier answers. A C(file://) store that does not exist is reported, not created.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: Runs normally in check mode; it changes nothing.
  diff_mode:
    support: none
extends_documentation_fragment:
  - nixkit.nix.attributes
options:
  store:
    description:
      - The store to reach, as Nix spells it. V(daemon) and V(local) (with optional C(?) parameters),
        or a URL with the scheme C(ssh://), C(ssh-ng://), C(file://), C(http://) or C(https://).
      - Other schemes are refused.
    type: str
    required: true
  user:
    description:
      - The local user that opens the store, with that user's SSH keys, C(known_hosts) and Nix
        settings. Running as another user than the one the module runs as needs root (C(become)).
      - Defaults to the user the module runs as.
    type: str
  timeout:
    description:
      - Seconds to wait for an SSH or HTTP connection before giving up. HTTP stores are tried once.
    type: int
    default: 10
  fail_on_unreachable:
    description:
      - Fail the task, with RV(cause_message) as the message, when the store cannot be reached.
        Handy in preflight checks. By default the result just says so.
    type: bool
    default: false
  retries:
    description:
      - How many more times to try, after 1, 2, 4... seconds, when the server dropped the connection before
        the key exchange (RV(cause) V(overloaded), as sshd does beyond C(MaxStartups) when many hosts connect
        at once). Other failures are reported at once.
    type: int
    default: 3
notes:
  - Over SSH, C(NIX_SSHOPTS) from the task's C(environment) is passed on, before the module's own time-out and
    batch-mode options. For example C(-p 2222 -o HostKeyAlias=HOST), as Nix ignores ports in store URLs.
  - C(ssh://) stores speak the older C(nix-store --serve) protocol, which reports neither a version
    nor trust, so RV(version) and RV(trusted) are null there; and as it opens the remote store only
    when first used, a remote user the daemon's C(allowed-users) refuses may still look reachable.
    Use C(ssh-ng://) for the full picture.
seealso:
  - name: Nix store types
    description: The store URLs Nix understands and their parameters.
    link: https://nix.dev/manual/nix/stable/store/types/
'''

EXAMPLES = r'''
- name: Can the Nix daemon (as root) reach the builder?
  nixkit.nix.nix_store_info:
    store: ssh-ng://nixbuilder@builder1.example.org
  become: true
  register: builder1

- name: Stop early with a plain message if not
  nixkit.nix.nix_store_info:
    store: ssh://nix-ssh@cache1.example.org
    fail_on_unreachable: true
  become: true

- name: May alice use the local daemon?
  nixkit.nix.nix_store_info:
    store: daemon
    user: alice
  become: true
  register: alice_daemon

- name: Is the private binary cache up?
  nixkit.nix.nix_store_info:
    store: https://cache.example.org
    timeout: 5
  register: cache
  failed_when: not cache.reachable and cache.cause != 'unreachable'
'''

RETURN = r'''
reachable:
  description: Whether the store answered.
  returned: always
  type: bool
  sample: true
version:
  description: The Nix version of the store's daemon; null when the store does not say (C(ssh://), binary caches) or is unreachable.
  returned: always
  type: str
  sample: 2.26.3
trusted:
  description: Whether the store trusts the user (C(trusted-users)); null when unknown.
  returned: always
  type: bool
  sample: true
url:
  description: The store's URL as Nix reports it, or O(store) when Nix does not say.
  returned: always
  type: str
  sample: ssh-ng://builder1.example.org
user:
  description: The local user that opened the store.
  returned: always
  type: str
  sample: root
cause:
  description:
    - Why the store could not be reached; null when it could.
    - V(overloaded) (the server dropped the connection before the key exchange, after O(retries)),
      V(host_key_unknown), V(host_key_mismatch), V(key_refused), V(unreachable), V(remote_nix_missing),
      V(user_not_allowed), V(not_a_cache) or V(other).
  returned: always
  type: str
  sample: host_key_unknown
cause_message:
  description: The cause in plain words, with what to do about it; null when the store was reached.
  returned: always
  type: str
  sample: >-
    root cannot open ssh-ng://builder1. The server's host key is not in known_hosts of the user that
    connects (root for the Nix daemon). Add it there; the probe never accepts an unknown key.
stderr:
  description: What Nix (and SSH) wrote to standard error.
  returned: always
  type: str
  sample: "Host key verification failed.\r\nerror: failed to start SSH connection to 'builder1'\n"
'''

import json
import os
import pwd
import re
import shutil
import tempfile
import time

from urllib.parse import unquote, urlparse

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import run_nix, ssh_env
from ansible_collections.nixkit.nix.plugins.module_utils._store_errors import TRANSIENT, classify

SCHEMES = ('ssh', 'ssh-ng', 'file', 'http', 'https')


def check_store(module, store):
    """The store's scheme (daemon and local count as schemes); fails on anything else."""
    name = store.split('?', 1)[0]
    if name in ('daemon', 'local'):
        return name
    match = re.match(r'([a-z][a-z0-9+.-]*)://', store)
    scheme = match.group(1) if match else None
    if scheme not in SCHEMES:
        module.fail_json(msg='store %r: use daemon, local or a URL starting with %s'
                             % (store, ', '.join(s + '://' for s in SCHEMES)))
    parsed = urlparse(store)
    if (parsed.path if scheme == 'file' else parsed.netloc) in ('', '/'):
        module.fail_json(msg='store %r names no %s' % (store, 'directory' if scheme == 'file' else 'host'))
    return scheme


def parse_info(stdout):
    """version, trusted and url from `store info --json` or the text of `store ping`."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        info = json.loads(lines[-1])
    except (IndexError, ValueError):
        info = {}
        for line in lines:
            key, dummy, value = line.partition(': ')
            info[{'Store URL': 'url', 'Version': 'version', 'Trusted': 'trusted'}.get(key, key)] = value
    trusted = info.get('trusted')
    return dict(version=info.get('version'), url=info.get('url'),
                trusted=None if trusted in (None, '') else bool(int(trusted)))


def probe(module, store, scheme, user, timeout):
    """Run the probe; returns (rc, stdout, stderr)."""
    env = ssh_env(timeout)
    args = ['--store', store]
    cache_dir = None
    if scheme in ('http', 'https'):
        # Nix remembers a cache's nix-cache-info for days: a private XDG cache makes it ask the server.
        cache_dir = tempfile.mkdtemp(prefix='nixkit-store-info.')
        entry = pwd.getpwnam(user)
        os.chown(cache_dir, entry.pw_uid, entry.pw_gid)
        env['XDG_CACHE_HOME'] = cache_dir
        args += ['--option', 'connect-timeout', str(timeout), '--option', 'download-attempts', '1']
    try:
        rc, out, err = run_nix(module, ['store', 'info', '--json'] + args, user=user, environ_update=env)
        if rc != 0 and "'info' is not a recognised command" in err:  # Nix before 2.19
            rc, out, err = run_nix(module, ['store', 'ping', '--json'] + args, user=user, environ_update=env)
        if rc != 0 and "unrecognised flag '--json'" in err:  # Nix before 2.14
            rc, out, err = run_nix(module, ['store', 'ping'] + args, user=user, environ_update=env)
            if rc == 0:
                out += err  # its "Version: ..." lines go to stderr
    finally:
        if cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)
    return rc, out, err


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type='str', required=True),
            user=dict(type='str'),
            timeout=dict(type='int', default=10),
            fail_on_unreachable=dict(type='bool', default=False),
            retries=dict(type='int', default=3),
        ),
        supports_check_mode=True,
    )
    store = module.params['store']
    timeout = module.params['timeout']
    scheme = check_store(module, store)
    if timeout < 1:
        module.fail_json(msg='timeout must be at least 1 second, got %d' % timeout)
    me = pwd.getpwuid(os.geteuid()).pw_name
    user = module.params['user'] or me
    try:
        pwd.getpwnam(user)
    except KeyError:
        module.fail_json(msg='user %r does not exist on this host' % user)
    if user != me and os.geteuid() != 0:
        module.fail_json(msg='opening the store as %r needs root (become: true); the module runs as %r' % (user, me))

    result = dict(changed=False, reachable=False, version=None, trusted=None, url=store, user=user,
                  cause=None, cause_message=None, stderr='')
    cache_dir = unquote(urlparse(store).path) if scheme == 'file' else None
    if cache_dir and not os.path.isfile(os.path.join(cache_dir, 'nix-cache-info')):
        # Nix would create an empty cache there; a read-only probe must not.
        result.update(cause='not_a_cache', cause_message='%s is not a binary cache: it has no nix-cache-info '
                      '(the probe does not create one, as Nix would).' % cache_dir)
    else:
        rc, out, err = probe(module, store, scheme, user, timeout)
        # A server dropping connections beyond MaxStartups recovers in moments: wait 1, 2, 4 s.
        for attempt in range(module.params['retries']):
            if rc == 0 or classify(err)[0] not in TRANSIENT:
                break
            time.sleep(2 ** attempt)
            rc, out, err = probe(module, store, scheme, user, timeout)
            result['attempts'] = attempt + 2
        result['stderr'] = err
        if rc == 0:
            info = parse_info(out)
            # Nix 2.26 reports ssh-ng stores as a bare "ssh-ng://".
            url = info.pop('url') or ''
            result.update(info, reachable=True, url=url if not url.endswith('://') else store)
        else:
            result['cause'], message = classify(err)
            result['cause_message'] = '%s cannot open %s. %s' % (user, store, message)
            if result.get('attempts'):
                result['cause_message'] += ' (%d attempts)' % result['attempts']

    if not result['reachable'] and module.params['fail_on_unreachable']:
        module.fail_json(msg=result['cause_message'], **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
