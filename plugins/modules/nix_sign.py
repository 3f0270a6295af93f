#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nix_sign
short_description: Sign Nix store paths, and optionally their closure, with a binary-cache key
version_added: 0.1.0
description:
  - Signs store paths with a Nix secret signing key, as C(nix store sign --key-file) does, so that
    machines which trust the matching public key (C(trusted-public-keys)) accept them from a cache
    or a copy.
  - Signs only what needs it. It first reads the paths (and with O(recursive=true) their closure)
    with C(nix path-info --json) and signs just the paths that carry no signature by a key of the
    same name; afterwards it reads them again and fails unless each now carries one.
  - The key file is read only to learn the key name. The secret key is never part of the results
    or of any message, even when the file turns out not to be a secret key.
  - Paths that are not in the store fail the task, naming them, before anything is signed.
    Nothing is downloaded from substituters to find out.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: Reads the signatures and reports in RV(signed) what the real run would sign; signs nothing.
  diff_mode:
    support: none
extends_documentation_fragment:
  - nixkit.nix.attributes
options:
  paths:
    description:
      - The store paths to sign, such as C(/nix/store/...-hello-2.12). Each must be a top-level
        store path (C(/nix/store/), a 32-character hash, C(-) and a name), not a file inside one
        and not a symlink such as C(./result) pointing to one.
      - Required unless O(all=true).
    type: list
    elements: str
  all:
    description:
      - Sign every valid path of the store, as C(nix store sign --all) does; for a cache server
        whose store is its content. Not with O(paths).
      - The result then lists only the paths that got a signature, not every path of the store.
    type: bool
    default: false
  key_file:
    description:
      - The secret signing key file, for example one made by M(nixkit.nix.nix_signing_key) or
        C(nix key generate-secret). It must be readable by the user the module runs as.
    type: path
    required: true
  recursive:
    description:
      - Sign the closure of O(paths) too (everything they reference, directly or not), as
        C(nix store sign --recursive) does. Clients check the signature of every path they fetch,
        so a cache usually signs whole closures.
    type: bool
    default: false
  verified_by:
    description:
      - Public keys (C(NAME:BASE64)). Only paths carrying a signature that verifies with one of them are signed
        (checked with C(nix store verify --sigs-needed 1) and these keys as C(trusted-public-keys)); the others are
        listed in RV(unverified) and left alone. With O(all=true) this is how a cache signs what its writers
        uploaded without vouching for paths that arrived with any other signature.
      - Paths built in the store itself carry no signature unless C(secret-key-files) signed them as they were
        built, so they count as unverified here; a cache's own builds are signed that way.
      - Empty (default) signs every path that lacks this key's signature.
    type: list
    elements: str
    default: []
  store:
    description:
      - The store that holds the paths, as Nix spells it, for example V(daemon), V(local),
        C(file:///var/cache/nix) or C(ssh-ng://cache.example.org).
      - Defaults to the store Nix uses on the host (the daemon's on a multi-user install).
      - A C(file://) store must already be a binary cache (have a C(nix-cache-info)); it is not created.
    type: str
notes:
  - The user the module runs as must be able to read O(key_file) and to open the store. The Nix daemon
    (2.26) takes signatures from users it does not trust too, as a signature is worth only the trust
    clients place in its key; protect the secret key file, not the store.
  - A path counts as signed when it carries a signature by a key of the same name, whether or not that
    signature verifies with the key in O(key_file). Give each new key a new name (see
    M(nixkit.nix.nix_signing_key) on rotation), or check with C(nix store verify).
seealso:
  - module: nixkit.nix.nix_signing_key
  - name: nix store sign
    description: How Nix signs store paths.
    link: https://nix.dev/manual/nix/stable/command-ref/new-cli/nix3-store-sign
'''

EXAMPLES = r'''
- name: Make the cache's signing key
  nixkit.nix.nix_signing_key:
    name: cache.example.org-1
    secret_path: /etc/nix/keys/cache.example.org-1.sec
    public_path: /etc/nix/keys/cache.example.org-1.pub
  register: cache_key

- name: Sign a system closure the cache serves
  nixkit.nix.nix_sign:
    paths:
      - /nix/store/0c5yx6k4rjg9sak2zjbd7mv8dzvsx3la-nixos-system-web1-24.11
    key_file: /etc/nix/keys/cache.example.org-1.sec
    recursive: true
  register: signing

- name: Show how many paths got a new signature
  ansible.builtin.debug:
    msg: "{{ signing.signed | length }} of {{ signing.paths | length }} paths newly signed"

- name: Sign what a file binary cache holds
  nixkit.nix.nix_sign:
    paths: "{{ built_paths }}"
    key_file: /etc/nix/keys/cache.example.org-1.sec
    store: file:///var/cache/nix
    recursive: true

- name: Sign everything a cache server holds (seed 001's nix sign-paths --all)
  nixkit.nix.nix_sign:
    all: true
    key_file: /etc/nix/keys/cache.example.org-1.sec
'''

RETURN = r'''
signed:
  description:
    - The paths that got a signature by the key (in check mode, that would get one), sorted.
    - Empty when every path was signed already; the task is then not changed.
  returned: always
  type: list
  elements: str
  sample: [/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep]
unverified:
  description: With O(verified_by), the paths left unsigned because no signature on them verifies with those keys, sorted.
  returned: when O(verified_by) is given and some path lacked this key's signature
  type: list
  elements: str
  sample: [/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-foreign]
already_signed:
  description: The paths that carried a signature by a key of this name before, sorted.
  returned: always; empty with O(all=true)
  type: list
  elements: str
  sample: [/nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top]
paths:
  description: Every path considered, sorted; with O(recursive=true) the whole closure of O(paths).
  returned: always; empty with O(all=true)
  type: list
  elements: str
  sample:
    - /nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top
    - /nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep
key_name:
  description: The name of the key in O(key_file), the part of each signature before C(:).
  returned: when the key file holds a secret key
  type: str
  sample: cache.example.org-1
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import run_nix
from ansible_collections.nixkit.nix.plugins.module_utils._path_info import (
    PathInfoError, check_store_path, has_signature, invalid_paths, not_valid_paths, parse_path_info,
)
from ansible_collections.nixkit.nix.plugins.module_utils._sign import CHUNK, key_name_of, sign_paths
from ansible_collections.nixkit.nix.plugins.module_utils._signing_key import PUBLIC_BYTES, SigningKeyError, parse_key

UNTRUSTED_RE = re.compile(r"path '(/nix/store/[^']+)' is untrusted")


def store_args(store):
    return ['--store', store] if store else []


def path_info(module, paths, recursive, store, result):
    """parse_path_info of `paths` (and their closure; every path when `paths` is None); fails
    naming any path the store does not hold."""
    # Read-only: do not ask substituters about missing paths (they time out without a network).
    args = ['path-info', '--json', '--option', 'substitute', 'false'] + (['--recursive'] if recursive else [])
    if paths is None:
        args.append('--all')
        paths = []
    rc, out, err = run_nix(module, args + store_args(store) + list(paths))
    missing = not_valid_paths(err) if rc != 0 else []
    info = {}
    if rc == 0:
        try:
            info = parse_path_info(out)
        except PathInfoError as exc:
            module.fail_json(msg=to_native(exc), stderr=err, **result)
        missing = invalid_paths(info)
    if missing:
        module.fail_json(msg='not in the store%s: %s; build, copy or substitute %s first'
                             % (' ' + store if store else '', ', '.join(missing),
                                'it' if len(missing) == 1 else 'them'), **result)
    if rc != 0:
        module.fail_json(msg='nix path-info failed: %s' % err.strip(), rc=rc, stderr=err, **result)
    return info


def unverified(module, paths, keys, store, result):
    """The paths among `paths` with no signature that verifies with one of `keys`."""
    found = []
    for start in range(0, len(paths), CHUNK):
        rc, out, err = run_nix(module, ['store', 'verify', '--no-contents', '--sigs-needed', '1',
                                        '--option', 'trusted-public-keys', ' '.join(keys)]
                               + store_args(store) + paths[start:start + CHUNK])
        untrusted = UNTRUSTED_RE.findall(err)
        if rc != 0 and not untrusted:
            module.fail_json(msg='nix store verify failed: %s' % err.strip(), rc=rc, stderr=err, **result)
        found += untrusted
    return sorted(set(found) & set(paths))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type='list', elements='str'),
            all=dict(type='bool', default=False),
            key_file=dict(type='path', required=True, no_log=False),
            recursive=dict(type='bool', default=False),
            store=dict(type='str'),
            verified_by=dict(type='list', elements='str', default=[], no_log=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, signed=[], already_signed=[], paths=[])
    if p['all'] == (p['paths'] is not None):
        module.fail_json(msg='give either paths (the store paths to sign) or all=true (every path of the store)',
                         **result)
    requested = []
    for path in p['paths'] or []:
        try:
            check_store_path(path)
        except PathInfoError as exc:
            module.fail_json(msg='paths: %s' % to_native(exc), **result)
        if path not in requested:
            requested.append(path)
    store = p['store']
    if store and store.startswith('file://'):
        cache_dir = store[len('file://'):].split('?', 1)[0]
        if not os.path.isfile(os.path.join(cache_dir, 'nix-cache-info')):
            # Nix would create an empty binary cache there.
            module.fail_json(msg='store %s is not a binary cache: %s has no nix-cache-info' % (store, cache_dir),
                             **result)
    for key in p['verified_by']:
        try:
            parse_key(key, PUBLIC_BYTES)
        except SigningKeyError:
            module.fail_json(msg='verified_by takes public keys (NAME:BASE64 of 32 bytes); %r is not one' % key, **result)
    result['key_name'] = key_name_of(module, p['key_file'], result)
    if not requested and not p['all']:
        module.exit_json(**result)

    info = path_info(module, None if p['all'] else requested, p['recursive'], store, result)
    unsigned = sorted(path for path, entry in info.items() if not has_signature(entry, result['key_name']))
    if p['verified_by'] and unsigned:
        # A signature vouches only for verified content: what no trusted key signed stays unsigned.
        result['unverified'] = unverified(module, unsigned, p['verified_by'], store, result)
        unsigned = [path for path in unsigned if path not in result['unverified']]
    if not p['all']:
        result['paths'] = sorted(info)
        result['already_signed'] = sorted(set(info) - set(unsigned))
    if unsigned and not module.check_mode:
        sign_paths(module, unsigned, p['key_file'], store, result)
        after = path_info(module, unsigned, False, store, result)
        still = [path for path in unsigned if not has_signature(after.get(path, dict(signatures=[])), result['key_name'])]
        if still:
            module.fail_json(msg='nix store sign succeeded but these paths carry no signature by %s: %s'
                                 % (result['key_name'], ', '.join(still)), **result)
    result['signed'] = unsigned
    result['changed'] = bool(unsigned)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
