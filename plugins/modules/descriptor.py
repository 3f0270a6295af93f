#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: descriptor
short_description: Publish or read what a host offers the rest of the Nix estate
version_added: 0.2.0
description:
  - A host that plays a part others depend on describes it in a small public JSON file, its descriptor.
    Clients publish their public keys (C(/etc/nix/nixkit-client.json)), builders what their Nix offers and
    their SSH host key (C(/etc/nix/nixkit-builder.json)), caches their URLs, public keys and host key
    (C(/etc/nix/nixkit-cache.json)). The roles of this collection write them; M(nixkit.nix.estate) reads them.
  - With O(state=present) the module writes the descriptor and also returns it as the fact C(nixkit_KIND), so
    that later plays of the same run find it without reading the host again.
  - With O(state=read) it only reads the file (the roles do that, delegated, for hosts that did not publish in
    this run) and returns RV(descriptor); nothing is changed and no fact is set.
  - Descriptors are public; values that look like secret keys are refused.
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
  kind:
    description: What the host describes.
    type: str
    required: true
    choices: [client, builder, cache]
  content:
    description:
      - The descriptor, a mapping of public facts. Required with O(state=present).
    type: dict
  state:
    description:
      - V(present) writes it and sets the fact; V(read) only reads it.
    type: str
    choices: [present, read]
    default: present
  path:
    description:
      - The file. Default C(/etc/nix/nixkit-KIND.json).
    type: path
seealso:
  - module: nixkit.nix.estate
'''

EXAMPLES = r'''
- name: Publish this builder's offer
  nixkit.nix.descriptor:
    kind: builder
    content:
      host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB...
      systems: [x86_64-linux]
      max_jobs: 4

- name: Read a client's descriptor from its host
  nixkit.nix.descriptor:
    kind: client
    state: read
  delegate_to: client1.example.org
  register: client1_descriptor
'''

RETURN = r'''
descriptor:
  description: The descriptor (with O(state=read), null when the host has none yet).
  returned: always
  type: dict
  sample: {"ssh_public_key": "ssh-ed25519 AAAA... nix-daemon@client1", "signing_public_key": "client1-1:AbC..."}
kind:
  description: The kind, as given.
  returned: always
  type: str
  sample: client
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/nix/nixkit-client.json
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixkit.nix.plugins.module_utils._descriptor import render
from ansible_collections.nixkit.nix.plugins.module_utils._files import apply_text, read_text

# A secret key of Nix's ("name:" and 64 bytes of base64) or an OpenSSH private key.
_SECRET_MARKERS = ('PRIVATE KEY',)


def _secret_like(value):
    if isinstance(value, dict):
        return any(_secret_like(v) for v in value.values())
    if isinstance(value, list):
        return any(_secret_like(v) for v in value)
    if isinstance(value, str):
        if any(marker in value for marker in _SECRET_MARKERS):
            return True
        name, sep, key = value.partition(':')
        return bool(sep) and ' ' not in value and len(key) == 88 and key.endswith('==')
    return False


def read(module, path):
    if not os.path.exists(path):
        return None
    try:
        with open(path) as handle:
            return json.load(handle)
    except ValueError as exc:
        module.fail_json(msg='%s is not valid JSON (%s); run the role that writes it again' % (path, exc), path=path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kind=dict(type='str', required=True, choices=['client', 'builder', 'cache']),
            content=dict(type='dict'),
            state=dict(type='str', choices=['present', 'read'], default='present'),
            path=dict(type='path'),
        ),
        required_if=[('state', 'present', ['content'])],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    kind = module.params['kind']
    path = module.params['path'] = module.params['path'] or '/etc/nix/nixkit-%s.json' % kind
    result = dict(changed=False, path=path, kind=kind)

    if module.params['state'] == 'read':
        module.exit_json(descriptor=read(module, path), **result)

    content = module.params['content']
    if _secret_like(content):
        module.fail_json(msg='the %s descriptor would hold a secret key; descriptors are public: give public keys '
                             'only' % kind, **result)
    before = read_text(module, path, create=True)
    if module.params['mode'] is None:
        module.params['mode'] = '0644'
    result['changed'] = apply_text(module, path, before, render(content), result)
    module.exit_json(descriptor=content, ansible_facts={'nixkit_' + kind: content}, **result)


if __name__ == '__main__':
    main()
