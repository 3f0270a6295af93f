#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nixos_module
short_description: Write a NixOS module of checked option definitions for the host's configuration to import
version_added: 0.3.0
description:
  - On NixOS, C(/etc/nix/nix.conf), C(/etc/nix/machines), users and sshd's configuration are generated from the
    system configuration; editing them is undone by the next rebuild. The collection's roles write what they
    would have edited as a NixOS module instead, one file per role in one directory, and the host imports
    that directory once.
  - Each definition is checked against the NixOS options the collection records from current nixpkgs, with
    their types (C(nix.settings), C(nix.buildMachines), C(nix.sshServe), C(users.users.NAME),
    C(programs.ssh), C(services.nginx), C(systemd.services.NAME), ...); anything else is refused before the
    file is written, naming the option.
  - Values are written as Nix strings, numbers, booleans, lists and attribute sets, never as Nix paths, so a
    file named in a definition (a secret key) is not copied into the store.
  - With O(index=true) the directory also gets a C(default.nix) that imports the role files present in it.
  - Activation is the host's own rebuild. With O(rebuild) the module runs it when the module changed;
    otherwise it warns that the host needs one. Until then the running system is unchanged.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  safe_file_operations:
    support: full
  platform:
    platforms: posix
extends_documentation_fragment:
  - nixkit.nix.attributes
  - nixkit.nix.attributes.files
  - ansible.builtin.files
options:
  path:
    description:
      - The module file. Its name must be one the index imports (C(nix-builder.nix), C(nix-cache-server.nix),
        C(nix-client.nix)) when O(index=true).
    type: path
    required: true
  definitions:
    description:
      - NixOS option names (a chosen name such as a user or host name as the last part,
        C(users.users.nixbuilder)) mapped to their values. Keys of submodule values may be dotted
        (C(openssh.authorizedKeys.keys)).
      - Required with O(state=present) unless O(builders) is given.
    type: dict
  builders:
    description:
      - Builders in the format of M(nixkit.nix.nix_machines) O(nixkit.nix.nix_machines#module:builders), checked
        the same way; they become C(nix.buildMachines), and C(nix.distributedBuilds) is set to true.
    type: list
    elements: dict
  known_hosts:
    description:
      - SSH host keys to pin for the whole host (C(programs.ssh.knownHosts), written to C(/etc/ssh/ssh_known_hosts)).
    type: list
    elements: dict
    suboptions:
      name:
        description: The host name or address as SSH is given it.
        type: str
        required: true
      key:
        description: The public host key, C(TYPE BASE64).
        type: str
        required: true
  allow_custom_systems:
    description: As M(nixkit.nix.nix_machines) O(nixkit.nix.nix_machines#module:allow_custom_systems).
    type: bool
    default: false
  comment:
    description: What the module is for; its first line.
    type: str
    default: settings of the nixkit.nix collection
  index:
    description:
      - Also keep C(default.nix) in the same directory, importing the role files present there.
    type: bool
    default: true
  rebuild:
    description:
      - The host's rebuild command as an argument list (C([nixos-rebuild, switch]), or the flake form
        C([nixos-rebuild, switch, --flake, /etc/nixos#HOST])), run when the module or its index changed.
        Its program must exist, also in check mode (checked before anything is written).
      - Empty (default) runs nothing and warns that the host needs a rebuild.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) writes the module; V(absent) removes it (the index stays; it imports only files present).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: nixkit.nix.nix_conf
  - module: nixkit.nix.nix_machines
  - name: NixOS options (nix.settings, nix.buildMachines, nix.sshServe)
    description: The NixOS manual's option reference.
    link: https://nixos.org/manual/nixos/stable/options
'''

EXAMPLES = r'''
- name: Let the build user in and trust the clients' signatures (on NixOS)
  nixkit.nix.nixos_module:
    path: /etc/nixos/nixkit/nix-builder.nix
    comment: the build user and settings of nixkit.nix.nix_builder
    definitions:
      nix.settings:
        extra-trusted-public-keys: ["client1-1:AAAA..."]
        max-jobs: auto
      users.users.nixbuilder:
        isSystemUser: true
        group: nixbuilder
        home: /var/lib/nixbuilder
        createHome: true
        useDefaultShell: true
        openssh.authorizedKeys.keys:
          - 'restrict,command="/run/current-system/sw/bin/nix-daemon --stdio" ssh-ed25519 AAAA... root@client1'
      users.groups.nixbuilder: {}

- name: Build on a builder (on NixOS), checked as nix_machines checks it
  nixkit.nix.nixos_module:
    path: /etc/nixos/nixkit/nix-client.nix
    builders:
      - host: builder1.example.org
        user: nixbuilder
        systems: [x86_64-linux]
        public_host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...
'''

RETURN = r'''
path:
  description: The module file.
  returned: always
  type: str
  sample: /etc/nixos/nixkit/nix-builder.nix
text:
  description: The module's text (it holds no secrets, only the paths of secret files).
  returned: when O(state=present)
  type: str
rebuilt:
  description: Whether O(rebuild) ran.
  returned: when O(state=present)
  type: bool
rebuild_needed:
  description: The module changed and O(rebuild) was not given; the running system does not have it yet.
  returned: when O(state=present)
  type: bool
index:
  description: The index file kept beside it, when O(index=true).
  returned: when O(index=true)
  type: str
  sample: /etc/nixos/nixkit/default.nix
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.nixkit.nix.plugins.module_utils._files import apply_text, read_text
from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import NIX_BIN_DIRS
from ansible_collections.nixkit.nix.plugins.module_utils._nix_machines import NixMachinesError, build_machines
from ansible_collections.nixkit.nix.plugins.module_utils._nixos_module import (
    INDEX, MODULE_NAME_RE, NixosModuleError, render)


def definitions(params):
    """The definitions to write, with the builders turned into nix.buildMachines."""
    wanted = dict(params['definitions'] or {})
    if params['builders'] is not None:
        if 'nix.buildMachines' in wanted:
            raise NixosModuleError('give the builders either in builders or as definitions["nix.buildMachines"], not both')
        try:
            wanted['nix.buildMachines'] = build_machines(params['builders'], params['allow_custom_systems'])
        except NixMachinesError as exc:
            raise NixosModuleError('builders: %s' % to_native(exc))
        wanted['nix.distributedBuilds'] = True
    for pin in params['known_hosts'] or []:
        if len(pin['key'].split()) < 2:
            raise NixosModuleError('known_hosts: the key of %s must be "TYPE BASE64"' % pin['name'])
        wanted['programs.ssh.knownHosts.' + pin['name']] = dict(hostNames=[pin['name']],
                                                                publicKey=' '.join(pin['key'].split()[:2]))
    return wanted


def rebuild_program(module):
    """Absolute path of the rebuild command's program, or fail before anything is written."""
    argv = module.params['rebuild']
    if not argv:
        return None
    program = module.get_bin_path(argv[0], opt_dirs=list(NIX_BIN_DIRS))
    if not program:
        module.fail_json(msg='the rebuild command %s was not found on this host (looked on PATH and in %s); fix '
                             'nixkit_nixos_rebuild_command (or the role\'s ROLE_nixos_rebuild_command), or set '
                             'nixkit_nixos_rebuild=false; nothing was written' % (argv[0], ', '.join(NIX_BIN_DIRS)))
    return program


def run_rebuild(module, program, result):
    argv = [program] + module.params['rebuild'][1:]
    rc, out, err = module.run_command(argv, environ_update={'PATH': os.pathsep.join(NIX_BIN_DIRS)})
    result['rebuilt'] = True
    if rc != 0:
        tail = '\n'.join((err or out).strip().splitlines()[-15:])
        module.fail_json(msg='%s was written, but the rebuild (%s) failed with exit code %d; the running system is '
                             'unchanged:\n%s' % (module.params['path'], ' '.join(module.params['rebuild']), rc, tail),
                         **result)


def remove(module, path, result):
    if not os.path.exists(path):
        return False
    if module._diff:
        result['diff'] = dict(before=read_text(module, path, False), after='', before_header=path, after_header=path)
    if not module.check_mode:
        os.unlink(path)
    return True


def write(module, path, text, result):
    before = read_text(module, path, True)
    return apply_text(module, path, before, text, result, new_file_mode=0o644)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            definitions=dict(type='dict'),
            builders=dict(type='list', elements='dict'),
            known_hosts=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True), key=dict(type='str', required=True, no_log=False))),
            allow_custom_systems=dict(type='bool', default=False),
            comment=dict(type='str', default='settings of the nixkit.nix collection'),
            index=dict(type='bool', default=True),
            rebuild=dict(type='list', elements='str', default=[]),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        required_if=[('state', 'present', ['definitions', 'builders', 'known_hosts'], True)],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params['path']
    result = dict(path=path, changed=False)
    if module.params['index'] and not MODULE_NAME_RE.match(os.path.basename(path)):
        module.fail_json(msg='path %s: with index=true the file must be named nix-builder.nix, nix-cache-server.nix '
                             'or nix-client.nix (default.nix imports only those); set index=false for other names'
                         % path, path=path)
    if module.params['state'] == 'absent':
        result['changed'] = remove(module, path, result)
        module.exit_json(**result)

    try:
        result['text'] = render(definitions(module.params), module.params['comment'])
    except NixosModuleError as exc:
        module.fail_json(msg='%s: %s; nothing was written' % (path, to_native(exc)), path=path)
    program = rebuild_program(module)
    result.update(rebuilt=False, rebuild_needed=False)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory) and not module.check_mode:
        os.makedirs(directory, 0o755)
    changed = write(module, path, result['text'], result)
    if module.params['index']:
        result['index'] = os.path.join(directory, 'default.nix')
        index_result = {}
        # The index is the module's own; the file attributes (owner, mode) given are for the module file.
        if os.path.isdir(directory) or not module.check_mode:
            before = read_text(module, result['index'], True)
            changed = apply_text(module, result['index'], before, INDEX, index_result) or changed
        else:
            changed = True
    result['changed'] = changed
    if changed and program and not module.check_mode:
        run_rebuild(module, program, result)
    elif changed:
        result['rebuild_needed'] = not program
        if not program and not module.check_mode:
            module.warn('%s changed: the host runs it after its next rebuild (nixos-rebuild switch), or set '
                        'nixkit_nixos_rebuild=true for the role to run it' % path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
