#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nix_signing_key
short_description: Ensure a Nix binary-cache signing key pair exists
version_added: 0.1.0
description:
  - Ensures a secret key file and its public key file exist for signing store paths, as
    C(nix-store --generate-binary-cache-key) makes them, and returns the public key for
    C(trusted-public-keys) on the machines that should trust the signatures.
  - A missing pair is generated with C(nix key generate-secret). When the secret key exists, the
    public key is derived from it with C(nix key convert-secret-to-public) and the public key file is
    written if it is missing.
  - The secret key file is mode C(0600) and gets its owner and group before any content is written;
    both files are replaced by an atomic rename. The secret key never appears in results or diffs.
  - An existing key is never replaced silently. A secret key with another name, a file at
    O(secret_path) that is not a secret key, a public key file that does not belong to the secret
    key, or a public key file without its secret key fails the task, changes nothing and says how
    to proceed; O(force=true) replaces the pair instead.
  - To rotate, call the module again with a new O(name) and new paths, trust both public keys, then
    sign with the new key and finally drop the old one (see the examples).
  - Needs the C(nix key) command (Nix 2.6 or later) on the host.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: When the secret key exists its public key is derived and returned in check mode too.
  diff_mode:
    support: partial
    details: Shows the public key file only; the secret key file is never shown.
  safe_file_operations:
    support: full
extends_documentation_fragment:
  - nixkit.nix.attributes
  - nixkit.nix.attributes.files
options:
  name:
    description:
      - The key name, written before the key in both files and in every signature, conventionally
        the cache's host name and a generation number such as C(cache.example.org-1).
      - Letters, digits, C(.), C(_) and C(-) only.
      - Required with O(state=present). With O(state=absent), when given, a secret key with
        another name is not removed (unless O(force=true)).
    type: str
  secret_path:
    description:
      - The secret key file. Its directory must exist.
    type: path
    required: true
  public_path:
    description:
      - The public key file, mode C(0644).
    type: path
    required: true
  owner:
    description:
      - Owner of the secret key file, for example the user a cache server such as nix-serve runs as.
    type: str
    default: root
  group:
    description:
      - Group of the secret key file.
    type: str
    default: root
  state:
    description:
      - V(present) ensures the pair exists; V(absent) removes both files.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Replace the pair with a newly generated one when the files conflict (see the description);
        with O(state=absent), remove a secret key whose name differs from O(name).
      - A consistent pair is kept either way.
    type: bool
    default: false
notes:
  - Paths signed with a replaced or removed key are no longer accepted by clients that trust only
    that key; rotate instead of forcing where signatures are in use.
seealso:
  - name: nix key generate-secret
    description: The key format and how Nix uses signing keys.
    link: https://nix.dev/manual/nix/stable/command-ref/new-cli/nix3-key-generate-secret
  - module: nixkit.nix.nix_conf
'''

EXAMPLES = r'''
- name: Ensure the cache's signing key exists, readable by the cache server only
  nixkit.nix.nix_signing_key:
    name: cache.example.org-1
    secret_path: /etc/nix/keys/cache.example.org-1.sec
    public_path: /etc/nix/keys/cache.example.org-1.pub
    owner: nix-serve
    group: nix-serve
  register: cache_key

- name: Sign what this host builds
  nixkit.nix.nix_conf:
    settings:
      secret-key-files: [/etc/nix/keys/cache.example.org-1.sec]

- name: Trust the key on the clients
  nixkit.nix.nix_conf:
    settings:
      trusted-public-keys: ["{{ hostvars['cache1'].cache_key.public_key }}"]
    list_mode: merge
  delegate_to: "{{ item }}"
  loop: "{{ groups['nix_clients'] }}"

# Rotation: make the new key alongside the old one, let the clients trust both (list_mode merge
# as above), switch secret-key-files to the new key, and only then drop the old key everywhere.
- name: Rotation step 1 - a second key next to the first
  nixkit.nix.nix_signing_key:
    name: cache.example.org-2
    secret_path: /etc/nix/keys/cache.example.org-2.sec
    public_path: /etc/nix/keys/cache.example.org-2.pub
    owner: nix-serve
    group: nix-serve
  register: new_key

- name: Rotation step 3 - once clients trust the new key and the cache signs with it, remove the old pair
  nixkit.nix.nix_signing_key:
    name: cache.example.org-1
    secret_path: /etc/nix/keys/cache.example.org-1.sec
    public_path: /etc/nix/keys/cache.example.org-1.pub
    state: absent
'''

RETURN = r'''
name:
  description: The key name.
  returned: always
  type: str
  sample: cache.example.org-1
public_key:
  description:
    - The public key as Nix writes it in C(trusted-public-keys), C(NAME:BASE64).
    - V(null) in check mode when a new pair would be generated, and with O(state=absent).
  returned: always
  type: str
  sample: cache.example.org-1:O6NdPxQKqJEFOsFMlfBLr2YZWrcg8hIJ+i1OH7sbNR0=
secret_path:
  description: The secret key file.
  returned: always
  type: str
  sample: /etc/nix/keys/cache.example.org-1.sec
public_path:
  description: The public key file.
  returned: always
  type: str
  sample: /etc/nix/keys/cache.example.org-1.pub
would_generate:
  description: Whether the real run would generate a new key pair.
  returned: in check mode with O(state=present)
  type: bool
  sample: true
'''

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import run_nix
from ansible_collections.nixkit.nix.plugins.module_utils._signing_key import (
    PUBLIC_BYTES, SECRET_BYTES, SigningKeyError, check_name, parse_key, write_file,
)


def read_optional(module, path):
    if os.path.isdir(path):
        module.fail_json(msg='%s is a directory; give the key file itself' % path)
    if not os.path.exists(path):
        return None
    try:
        with open(path, 'rb') as handle:
            return to_text(handle.read(), errors='surrogate_or_replace')
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read %s: %s' % (path, to_native(exc)))


def hide(module, secret):
    """Parse a secret key and mask it in everything the module returns; None if it is not one."""
    try:
        name, data = parse_key(secret, SECRET_BYTES)
    except SigningKeyError:
        return None
    module.no_log_values.add(data)
    return name


def nix_key(module, args, secret=None):
    rc, out, err = run_nix(module, ['key'] + args, data=None if secret is None else to_bytes(secret.strip()))
    if rc != 0:
        module.fail_json(msg='nix key %s failed: %s' % (args[0], err.strip()), rc=rc)
    return out.strip()


def lookup_ids(module):
    """uid and gid for the secret key; None for one that does not exist yet (allowed in check mode)."""
    ids = []
    for key, lookup in (('owner', lambda v: pwd.getpwnam(v).pw_uid), ('group', lambda v: grp.getgrnam(v).gr_gid)):
        value = module.params[key]
        try:
            ids.append(int(value) if value.isdigit() else lookup(value))
        except KeyError:
            if not module.check_mode:
                module.fail_json(msg='%s %s does not exist on this host; create it first' % (key, value))
            ids.append(None)
    return ids


def fix_attributes(module, path, mode, uid=-1, gid=-1):
    """Give an existing file its mode (and owner); True if anything was (or would be) changed."""
    if not os.path.exists(path):
        return False
    st = os.stat(path)
    wrong_mode = stat.S_IMODE(st.st_mode) != mode
    wrong_owner = uid is None or gid is None or uid not in (-1, st.st_uid) or gid not in (-1, st.st_gid)
    if module.check_mode:
        return wrong_mode or wrong_owner
    if wrong_owner:
        os.chown(path, uid, gid)
    if wrong_mode:
        os.chmod(path, mode)
    return wrong_mode or wrong_owner


def shown(public):
    """The public key file as the diff may show it: never anything that is not a public key."""
    if public is None:
        return ''
    try:
        parse_key(public, PUBLIC_BYTES)
    except SigningKeyError:
        return '<not a public key>\n'
    return public.strip() + '\n'


def conflict_of(module, secret, public):
    """(public key derived from the existing secret or None, conflict message or None)."""
    p = module.params
    if secret is None:
        if public is None:
            return None, None
        return None, ('%s exists but %s does not: the public key may belong to a secret key kept elsewhere. '
                      'Check secret_path, or remove %s or set force=true to generate a new key pair'
                      % (p['public_path'], p['secret_path'], p['public_path']))
    secret_name = hide(module, secret)
    if secret_name is None:
        return None, ('%s is not a Nix secret signing key; move it away, or set force=true to replace it '
                      'with a new key pair' % p['secret_path'])
    if secret_name != p['name']:
        return None, ('%s holds the key %s, not %s. To rotate keys, give the new key its own secret_path and '
                      'public_path and keep the old pair until clients trust the new public key; set force=true '
                      'only to replace this pair' % (p['secret_path'], secret_name, p['name']))
    public_key = nix_key(module, ['convert-secret-to-public'], secret)
    if public is not None and public.strip() != public_key:
        return public_key, ('%s does not hold the public key of %s (%s). To keep the secret key, remove %s and run '
                            'again so it is rewritten from the secret; set force=true to replace both with a new key '
                            'pair' % (p['public_path'], p['secret_path'], public_key, p['public_path']))
    return public_key, None


def present(module, secret, public, result):
    p = module.params
    try:
        check_name(p['name'])
    except SigningKeyError as exc:
        module.fail_json(msg=to_native(exc), **result)
    uid, gid = lookup_ids(module)
    public_key, conflict = conflict_of(module, secret, public)
    if conflict and not p['force']:
        module.fail_json(msg=conflict, **result)
    generate = secret is None or conflict is not None
    changed = generate or public is None
    if module.check_mode:
        result['would_generate'] = generate
        if not generate:
            result['public_key'] = public_key
    else:
        for path in (p['secret_path'], p['public_path']) if changed else ():
            if not os.path.isdir(os.path.dirname(path) or '.'):
                module.fail_json(msg='the directory of %s does not exist; create it first' % path, **result)
        if generate:
            secret = nix_key(module, ['generate-secret', '--key-name', p['name']])
            if hide(module, secret) != p['name']:
                module.fail_json(msg='nix key generate-secret returned no key named %s' % p['name'], **result)
            # A new key only where none exists: two runs making it at once (one build host, several
            # targets) then agree on the first one written.
            if not write_file(p['secret_path'], to_bytes(secret), 0o600, uid, gid, exclusive=conflict is None):
                secret = read_optional(module, p['secret_path'])
                hide(module, secret)
            public_key = nix_key(module, ['convert-secret-to-public'], secret)
        if changed:
            # Without a trailing newline, as Nix writes it (builtins.readFile users rely on that).
            write_file(p['public_path'], to_bytes(public_key), 0o644)
        result['public_key'] = public_key
    changed = fix_attributes(module, p['secret_path'], 0o600, uid, gid) or changed
    changed = fix_attributes(module, p['public_path'], 0o644) or changed
    if module._diff:
        after = result['public_key'] or '<a new key %s, generated on the real run>' % p['name']
        result['diff'] = dict(before=shown(public), after=after + '\n',
                              before_header=p['public_path'], after_header=p['public_path'])
    return changed


def absent(module, secret, public, result):
    p = module.params
    secret_name = None if secret is None else hide(module, secret)
    if p['name'] and secret_name not in (None, p['name']) and not p['force']:
        module.fail_json(msg='%s holds the key %s, not %s; nothing was removed (set force=true to remove it anyway)'
                         % (p['secret_path'], secret_name, p['name']), **result)
    if module._diff:
        result['diff'] = dict(before=shown(public), after='', before_header=p['public_path'],
                              after_header=p['public_path'])
    existing = [path for path in (p['secret_path'], p['public_path']) if os.path.lexists(path)]
    if not module.check_mode:
        for path in existing:
            os.unlink(path)
    return bool(existing)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str'),
            secret_path=dict(type='path', required=True),
            public_path=dict(type='path', required=True),
            owner=dict(type='str', default='root'),
            group=dict(type='str', default='root'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            force=dict(type='bool', default=False),
        ),
        required_if=[('state', 'present', ['name'])],
        supports_check_mode=True,
    )
    p = module.params
    result = dict(name=p['name'], public_key=None, secret_path=p['secret_path'], public_path=p['public_path'])
    if os.path.abspath(p['secret_path']) == os.path.abspath(p['public_path']):
        module.fail_json(msg='secret_path and public_path must be different files', **result)
    secret = read_optional(module, p['secret_path'])
    public = read_optional(module, p['public_path'])
    action = present if p['state'] == 'present' else absent
    result['changed'] = action(module, secret, public, result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
