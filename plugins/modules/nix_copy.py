#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nix_copy
short_description: Copy Nix store closures between stores, only what is missing
version_added: 0.1.0
description:
  - Copies the closures of store paths from one Nix store to another with C(nix copy), as
    C(nix-copy-closure) does, over C(ssh://) or C(ssh-ng://), into or out of a C(file://) binary cache
    directory, or into the host's own store.
  - Decides from the stores' state, not from Nix's output. It lists the closure in the source
    (C(nix path-info --recursive --json)), asks the destination which of those paths it lacks
    (C(nix-store --check-validity --print-invalid), which neither builds nor substitutes), and runs
    C(nix copy) only when some are missing. RV(copied) and RV(bytes) describe exactly those paths.
  - In check mode it asks both stores the same questions, copies nothing and reports what it would copy.
  - SSH runs in batch mode as the user the module runs as, with that user's SSH key and
    C(known_hosts). It never waits at a prompt, never accepts an unknown host key and never updates C(known_hosts).
  - An interrupted copy leaves the destination consistent (Nix registers a path only once all of it has
    arrived, after its references); running the task again copies the rest.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: Reads both stores and reports the paths it would copy; copies nothing.
  diff_mode:
    support: none
extends_documentation_fragment:
  - nixkit.nix.attributes
options:
  paths:
    description:
      - Store paths (or other installables Nix resolves without building, such as a C(result) symlink or
        C(/nix/store/...drv^out)) whose closures to copy.
      - Anything under C(/nix/store/) must be a store path itself, C(/nix/store/) then a 32-character hash,
        a dash and a name; a file inside a store path is refused.
      - Each must be valid in the source store; the task fails naming the ones that are not. Nothing is built.
    type: list
    elements: str
    required: true
  from:
    description:
      - The store to copy from, as Nix spells it. V(daemon), V(local) or V(auto) (with optional C(?)
        parameters), or a URL with the scheme C(ssh://), C(ssh-ng://), C(file://), C(http://) or C(https://).
      - Defaults to the host's own store (Nix's default store).
      - A C(file://) directory that is not a binary cache is refused rather than created.
    type: str
  to:
    description:
      - The store to copy to. V(daemon), V(local) or V(auto) (with optional C(?) parameters), or a URL with the
        scheme C(ssh://), C(ssh-ng://) or C(file://). HTTP binary caches are read-only to Nix and refused.
      - Defaults to the host's own store (Nix's default store).
      - A C(file://) directory is created as a binary cache on the first copy (not in check mode).
    type: str
  substitute_on_destination:
    description:
      - Let the destination fetch missing paths from its own substituters first (C(--substitute-on-destination)),
        which is faster when it is closer to a cache than to the source. Only for C(ssh://) and C(ssh-ng://)
        destinations.
    type: bool
    default: false
  check_sigs:
    description:
      - Whether the destination checks that the paths carry a signature by a key in its C(trusted-public-keys).
      - V(false) adds C(--no-check-sigs) and warns. A remote daemon honours it only for users in its
        C(trusted-users); for others it checks anyway.
    type: bool
    default: true
  sign_with:
    description:
      - A secret signing key file on this host (as made by M(nixkit.nix.nix_signing_key)). Before copying, the paths the
        destination lacks are signed with it in the source store, unless they carry its signature already, so a
        destination that trusts its public key accepts them. This is M(nixkit.nix.nix_sign) for exactly the paths being
        copied, in the same module run.
      - The key is checked before anything is asked of either store; its secret part never appears in the output.
    type: path
  timeout:
    description:
      - Seconds to wait for each SSH connection to be set up (C(NIX_SSHOPTS=-o ConnectTimeout=N -o BatchMode=yes)).
        C(NIX_SSHOPTS) from the task's C(environment) (a port, C(HostKeyAlias)) comes first.
        It does not limit how long the copy itself takes.
    type: int
    default: 10
notes:
  - Over C(ssh-ng://) (Nix 2.26) the destination checks signatures even for C(root), so unsigned paths built
    locally are refused unless they are signed by a key the destination trusts or O(check_sigs=false) is
    set for a trusted user. The older C(ssh://) protocol imports as the SSH user, so for C(root) it does
    not check, and for other users the daemon does.
  - The destination is asked about each path in turn, one round trip per path of the closure; on a
    high-latency link a large closure takes noticeably longer to check than to skip with plain C(nix copy).
seealso:
  - module: nixkit.nix.nix_store_info
  - module: nixkit.nix.nix_sign
  - name: nix copy
    description: The Nix command this module runs.
    link: https://nix.dev/manual/nix/stable/command-ref/new-cli/nix3-copy
'''

EXAMPLES = r'''
- name: Push a system closure to a host over SSH (as root, with root's key and known_hosts)
  nixkit.nix.nix_copy:
    paths:
      - /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11
    to: ssh-ng://root@web1.example.org
    substitute_on_destination: true
  become: true
  register: pushed

- name: Fill a binary cache directory that a web server publishes
  nixkit.nix.nix_copy:
    paths: "{{ build.out_paths }}"
    to: file:///var/cache/nix-bin?compression=zstd
  become: true

- name: Fetch a closure from the cache host into this host's store
  nixkit.nix.nix_copy:
    paths:
      - /nix/store/5xqv3ijr1z8yq0k5p9x7z6l1a2n3b4c5-hello-2.12.1
    from: ssh://nix-ssh@cache1.example.org
  become: true

- name: Deploy a closure to a host that trusts only this build host's key, signing what it lacks first
  nixkit.nix.nix_copy:
    paths: "{{ build.out_paths }}"
    to: ssh-ng://deploy@web1.example.org
    sign_with: /etc/nix/nixkit-deploy/deploy.sec
  become: true

- name: What would be copied? (check mode copies nothing)
  nixkit.nix.nix_copy:
    paths: "{{ build.out_paths }}"
    to: ssh-ng://root@web1.example.org
  check_mode: true
  register: would_copy
'''

RETURN = r'''
copied:
  description: The store paths that were missing in the destination and were copied (in check mode, would be), sorted.
  returned: always
  type: list
  elements: str
  sample: [/nix/store/h9pyfxmqkw83pighm3clg0amp4ahn3bh-top, /nix/store/zpmhsiahi5swypypj9nmxka4hi1az9v1-leaf]
bytes:
  description: The sum of the NAR sizes (unpacked size) of RV(copied), as the source reports them.
  returned: always
  type: int
  sample: 200856
signed:
  description: The paths of RV(copied) that were signed with O(sign_with) first (in check mode, would be), sorted.
  returned: always
  type: list
  elements: str
  sample: [/nix/store/h9pyfxmqkw83pighm3clg0amp4ahn3bh-top]
key_name:
  description: The name of the key in O(sign_with).
  returned: when O(sign_with) is given
  type: str
  sample: build1-deploy-1
already_present:
  description: How many paths of the closure the destination already had.
  returned: always
  type: int
  sample: 1
cause:
  description:
    - Why the task failed. V(signature) when the destination refused unsigned paths; otherwise a cause from
      nixkit.nix.nix_store_info (V(host_key_unknown), V(host_key_mismatch), V(key_refused), V(unreachable),
      V(remote_nix_missing), V(user_not_allowed), V(not_a_cache)) or V(other).
  returned: when a store could not be opened or the copy failed
  type: str
  sample: host_key_unknown
missing:
  description: The paths (or the outputs the installables name) that are not valid in the source store.
  returned: when some of O(paths) are not in the source
  type: list
  elements: str
  sample: [/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-nope]
stderr:
  description: What Nix (and SSH) wrote to standard error in the step that failed.
  returned: when a store could not be opened or the copy failed
  type: str
  sample: "error: cannot add path '/nix/store/zpmhsiahi5swypypj9nmxka4hi1az9v1-leaf' because it lacks a signature by a trusted key\n"
'''

import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixkit.nix.plugins.module_utils._copy import (
    CONNECTION_CAUSES, SIGNATURE_HINT, SSH_SCHEMES, CopyError, check_paths, chunks, copy_args, file_store_dir, landed, last_error,
    not_valid, parse_invalid, plan, signature_refusal, store_scheme,
)
from ansible_collections.nixkit.nix.plugins.module_utils._path_info import has_signature, parse_path_info
from ansible_collections.nixkit.nix.plugins.module_utils._sign import key_name_of, sign_paths
from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import run_nix, ssh_env
from ansible_collections.nixkit.nix.plugins.module_utils._store_errors import classify


def store_args(store):
    return ['--store', store] if store else []


def store_failed(module, store, err, command):
    """Fail with why a store did not answer, in plain words, or with Nix's own error."""
    cause, message = classify(err)
    where = store or 'the local store'
    if cause == 'other':
        msg = '%s on %s failed: %s' % (command, where, last_error(err))
    else:
        msg = '%s cannot open %s. %s' % (pwd.getpwuid(os.geteuid()).pw_name, where, message)
    module.fail_json(msg=msg, cause=cause, stderr=err)


def closure(module, source, paths, env):
    """{path: path-info} of the closure of `paths` in the source; fails naming the paths it lacks."""
    stdin = '\n'.join(paths) + '\n'
    rc, out, err = run_nix(module, ['path-info', '--recursive', '--json', '--stdin'] + store_args(source),
                           environ_update=env, data=stdin)
    if rc == 0:
        return parse_path_info(out)
    if 'is not valid' in err:
        # With --recursive Nix names only the first path it lacks; without, it lists each as null.
        rc, out, dummy = run_nix(module, ['path-info', '--json', '--stdin'] + store_args(source),
                                 environ_update=env, data=stdin)
        missing = not_valid(parse_path_info(out) if rc == 0 else {}, err)
        module.fail_json(msg='not in %s (nothing is built or fetched): %s'
                             % ('the source store ' + source if source else 'the local store', ', '.join(missing)),
                         missing=missing, stderr=err)
    store_failed(module, source, err, 'nix path-info')


def invalid_in(module, destination, paths, env):
    """(rc, paths the destination lacks, stderr). Asks validity only: nothing is built or substituted."""
    missing = []
    for chunk in chunks(sorted(paths)):
        rc, out, err = run_nix(module, store_args(destination) + ['--check-validity', '--print-invalid'] + chunk,
                               tool='nix-store', environ_update=env)
        if rc != 0:
            return rc, None, err
        missing += parse_invalid(out)
    return 0, missing, ''


def is_cache(store):
    return os.path.isfile(os.path.join(file_store_dir(store), 'nix-cache-info'))


def main():
    module = AnsibleModule(
        argument_spec={
            'paths': dict(type='list', elements='str', required=True),
            'from': dict(type='str'),
            'to': dict(type='str'),
            'substitute_on_destination': dict(type='bool', default=False),
            'check_sigs': dict(type='bool', default=True),
            'timeout': dict(type='int', default=10),
            'sign_with': dict(type='path'),
        },
        supports_check_mode=True,
    )
    paths = module.params['paths']
    source = module.params['from']
    destination = module.params['to']
    timeout = module.params['timeout']
    try:
        check_paths(paths)
        source_scheme = store_scheme(source, 'from') if source else None
        scheme = store_scheme(destination, 'to') if destination else None
    except CopyError as e:
        module.fail_json(msg=str(e))
    if timeout < 1:
        module.fail_json(msg='timeout must be at least 1 second, got %d' % timeout)
    if module.params['substitute_on_destination'] and scheme not in SSH_SCHEMES:
        module.fail_json(msg='substitute_on_destination works only with ssh:// and ssh-ng:// destinations, '
                             'not %s' % (destination or 'the local store'))
    if source_scheme == 'file' and not is_cache(source):
        module.fail_json(msg='from=%r: %s is not a binary cache (it has no nix-cache-info)'
                             % (source, file_store_dir(source)))
    if not module.params['check_sigs']:
        module.warn('check_sigs=false: the destination is asked to accept these paths without checking their '
                    'signatures (--no-check-sigs). Prefer signing them (nixkit.nix.nix_sign) with a key it trusts.')

    key = {'key_name': key_name_of(module, module.params['sign_with'], {}, 'sign_with')} if module.params['sign_with'] else {}
    env = ssh_env(timeout)
    if source_scheme in ('http', 'https'):
        env['NIX_CONFIG'] = 'connect-timeout = %d' % timeout
    info = closure(module, source, paths, env)
    if scheme == 'file' and not is_cache(destination):
        missing = list(info)  # not a binary cache yet; asking Nix would create one
    else:
        rc, missing, err = invalid_in(module, destination, info, env)
        if rc != 0:
            store_failed(module, destination, err, 'nix-store --check-validity')
    result = plan(info, missing)
    result.update(key, signed=sorted(p for p in result['copied'] if key and not has_signature(info[p], key['key_name'])))
    if not result['copied'] or module.check_mode:
        module.exit_json(changed=bool(result['copied']), **result)
    if result['signed']:
        sign_paths(module, result['signed'], module.params['sign_with'], source, result, env)

    args = copy_args(source, destination, module.params['substitute_on_destination'], module.params['check_sigs'])
    rc, dummy, err = run_nix(module, args, environ_update=env, data='\n'.join(result['copied']) + '\n')
    if rc == 0:
        module.exit_json(changed=True, **result)

    # The destination stays consistent: report what arrived before the failure, then why it failed.
    still_missing = result['copied']
    if scheme != 'file' or is_cache(destination):
        rc, now_missing, dummy = invalid_in(module, destination, result['copied'], env)
        if rc == 0:
            still_missing = now_missing
    partial = landed(info, result['copied'], still_missing)
    partial.update(key, changed=bool(partial['copied'] or result['signed']), already_present=result['already_present'],
                   signed=result['signed'], stderr=err)
    where = destination or 'the local store'
    refusal = signature_refusal(err)
    if refusal:
        module.fail_json(msg='%s refused the copy. Nix says: %s. %s' % (where, refusal, SIGNATURE_HINT),
                         cause='signature', **partial)
    cause, message = classify(err)
    msg = 'nix copy to %s failed: %s' % (where, last_error(err))
    if cause in CONNECTION_CAUSES:
        msg += ' ' + message
    module.fail_json(msg=msg, cause=cause if cause in CONNECTION_CAUSES else 'other', **partial)


if __name__ == '__main__':
    main()
