#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nix_machines
short_description: Render the Nix remote builders machines file
version_added: 0.1.0
description:
  - Writes a Nix machines file such as C(/etc/nix/machines) from a list of builders. The module
    owns the whole file - it holds exactly the given builders, after a comment line saying so;
    lines edited by hand are overwritten (a warning names a file that was not written by this module).
  - Every field of every builder is checked before anything is written; an invalid one fails the task,
    names the entry by its index and host and leaves the file untouched.
    The file is replaced atomically.
  - Nix reads the file when C(builders = @/etc/nix/machines) is set in C(nix.conf) (see
    M(nixkit.nix.nix_conf)). The daemon rereads it for every build; no restart is needed after a change.
  - Refuses to edit a file that resolves into C(/nix/store), as on NixOS; set C(nix.buildMachines) there.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  safe_file_operations:
    support: full
extends_documentation_fragment:
  - nixkit.nix.attributes
  - nixkit.nix.attributes.files
  - ansible.builtin.files
options:
  path:
    description:
      - The machines file.
    type: path
    default: /etc/nix/machines
  builders:
    description:
      - The remote builders, one line each, in the order given. An empty list leaves only the comment line.
      - Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      host:
        description:
          - Host name, C(~/.ssh/config) alias or IP address of the builder; no scheme, user or port.
        type: str
        required: true
      protocol:
        description:
          - V(ssh-ng) talks to a Nix daemon on the builder (C(nix-daemon --stdio)), V(ssh) to
            C(nix-store --serve).
        type: str
        choices: [ssh-ng, ssh]
        default: ssh-ng
      user:
        description:
          - SSH user on the builder. Without it, root's C(~/.ssh/config) or C(root) applies.
        type: str
      port:
        description:
          - Always refused. Nix 2.26 passes C(host:PORT) to ssh as the host name and ignores C(?port=),
            so a port in the machines file never reaches ssh. Set C(Port) for the host in root's
            C(~/.ssh/config) instead; the daemon's ssh reads it.
        type: int
      systems:
        description:
          - Platforms the builder builds for, such as V(x86_64-linux) or V(aarch64-linux).
          - Each must be a C(cpu-os) pair Nix knows - one of the doubles of nixpkgs' C(lib.systems.doubles), or
            an x86-64 level such as V(x86_64-v3-linux) that Nix adds to C(extra-platforms) - unless
            O(allow_custom_systems=true). An unknown one fails the task with the entry, the item and the
            nearest known system (V(x86-linux) suggests V(x86_64-linux)).
        type: list
        elements: str
        required: true
      ssh_key:
        description:
          - Absolute path, on the managed host, of the private key root's ssh uses for this builder.
            Without it, ssh's defaults apply.
        type: str
      max_jobs:
        description:
          - Builds Nix runs at once on this builder. At least 1 - Nix never chooses a machine with 0
            and builds wait for it forever; remove the builder instead.
        type: int
        default: 1
      speed_factor:
        description:
          - Preference among builders; Nix picks the one with the lowest load divided by this.
        type: int
        default: 1
      supported_features:
        description:
          - System features the builder offers, such as V(kvm), V(big-parallel), V(nixos-test).
            A derivation's C(requiredSystemFeatures) must all be here or in O(builders[].mandatory_features).
        type: list
        elements: str
      mandatory_features:
        description:
          - Features a derivation must require to be built here; other derivations never go to this builder.
          - Nix counts them as supported too, so they need not be repeated in O(builders[].supported_features).
        type: list
        elements: str
      public_host_key:
        description:
          - The builder's SSH host public key as in its C(/etc/ssh/ssh_host_ed25519_key.pub) (C(TYPE BASE64),
            a trailing comment is dropped). Written base64-encoded as Nix wants, so the daemon's ssh trusts
            exactly this key and root's C(known_hosts) is not needed for this builder.
          - Without it, root's C(known_hosts) must already know the builder.
        type: str
  allow_custom_systems:
    description:
      - Accept systems in O(builders[].systems) that are not in the list of systems Nix knows, for
        builders that build for a platform of your own. They must still look like C(cpu-os) (lowercase
        words joined by C(-)).
    type: bool
    default: false
  state:
    description:
      - V(present) writes the file, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  create:
    description:
      - Create the file if it does not exist. Its directory must exist (in check mode it may be missing).
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped copy of the previous file when it changes or is removed.
    type: bool
    default: false
notes:
  - Remote builds run as the Nix daemon's user, root, so the keys and C(~/.ssh/config) that matter are root's.
  - The remote user must be allowed to use the builder's Nix daemon (with Debian's packages, be in
    C(nix-users)); to build derivations whose inputs are not signed by a key the builder trusts, it
    must be in the builder's C(trusted-users).
seealso:
  - module: nixkit.nix.nix_conf
  - name: Remote builds
    description: How Nix uses the machines file.
    link: https://nix.dev/manual/nix/stable/advanced-topics/distributed-builds
'''

EXAMPLES = r'''
- name: Two builders, one for big jobs only
  nixkit.nix.nix_machines:
    builders:
      - host: builder1.example.org
        user: nixbuild
        systems: [x86_64-linux, i686-linux]
        ssh_key: /root/.ssh/id_ed25519
        max_jobs: 8
        supported_features: [big-parallel, kvm, nixos-test]
        public_host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJIxfpwPzGI4D0pS0Yz4F/dUKg/tTq/qwAG3/7KH1vOU
      - host: 10.0.0.7
        protocol: ssh
        systems: [aarch64-linux]
        mandatory_features: [benchmark]

- name: A builder for a platform nixpkgs does not list
  nixkit.nix.nix_machines:
    allow_custom_systems: true
    builders:
      - host: builder3.example.org
        systems: [x86_64-linux, riscv64-myboard]

- name: Point Nix at the file
  nixkit.nix.nix_conf:
    settings:
      builders: "@/etc/nix/machines"
      builders-use-substitutes: true

- name: No more remote builders
  nixkit.nix.nix_machines:
    state: absent
'''

RETURN = r'''
path:
  description: The machines file.
  returned: always
  type: str
  sample: /etc/nix/machines
machines:
  description: The machine lines the file holds after the task (or would, in check mode), without the comment line.
  returned: always
  type: list
  elements: str
  sample: ["ssh-ng://nixbuild@builder1.example.org x86_64-linux /root/.ssh/id_ed25519 8 1 kvm - c3NoLWVk..."]
backup_file:
  description: The copy of the previous file made with O(backup=true).
  returned: when a backup was made
  type: str
  sample: /etc/nix/machines.1234.2026-11-22@10:00:00~
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.nixkit.nix.plugins.module_utils._files import apply_text, read_text
from ansible_collections.nixkit.nix.plugins.module_utils._nix_machines import (
    HEADER, NixMachinesError, machines, render,
)


def remove(module, path, result):
    """state=absent: the file goes, with the same diff, check mode and backup handling as writes."""
    before = read_text(module, path, True) if os.path.lexists(path) else None
    if module._diff:
        result['diff'] = dict(before=before or '', after='', before_header=path, after_header=path)
    if before is not None and not module.check_mode:
        if module.params['backup']:
            result['backup_file'] = module.backup_local(path)
        os.remove(path)
    return before is not None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/nix/machines'),
            # Builder entries are checked by _nix_machines, which names the entry in every error.
            builders=dict(type='list', elements='dict'),
            allow_custom_systems=dict(type='bool', default=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            create=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
        ),
        required_if=[('state', 'present', ['builders'])],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params['path']
    result = dict(path=path, machines=[])
    if module.params['state'] == 'absent':
        result['changed'] = remove(module, path, result)
        module.exit_json(**result)

    try:
        result['machines'] = machines(module.params['builders'], module.params['allow_custom_systems'])
    except NixMachinesError as exc:
        module.fail_json(msg='%s: %s' % (path, to_native(exc)), path=path)
    before = read_text(module, path, module.params['create'])
    after = render(result['machines'])
    if before and before != after and not before.startswith(HEADER + '\n'):
        module.warn('%s was not written by nix_machines; its lines are replaced by the given builders' % path)
    # The daemon and every Nix user read the file; it holds no secrets (ssh_key is only a path).
    result['changed'] = apply_text(module, path, before, after, result, new_file_mode=0o644)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
