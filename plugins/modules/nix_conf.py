#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nix_conf
short_description: Set or unset settings in a nix.conf file
version_added: 0.1.0
description:
  - Sets or removes settings in a Nix configuration file such as C(/etc/nix/nix.conf), leaving
    comments, blank lines, unmanaged settings and C(include)/C(!include) lines as they are.
  - List-valued settings (C(substituters), C(trusted-public-keys), C(trusted-users),
    C(system-features), C(experimental-features) and their C(extra-) forms, among others) can be
    replaced or merged into.
  - Values are checked before anything is written; an invalid name or value fails the task and
    leaves the file untouched. The file is replaced atomically.
  - New settings are written above the first C(include)/C(!include) line, so files included at the
    end can extend (C(extra-) names) what this file sets; a plain assignment after them would
    reset their lists.
  - When a setting is defined more than once, the last definition (the one Nix uses) is edited and
    the earlier ones are removed.
  - Refuses to edit a file that resolves into C(/nix/store), as C(/etc/nix/nix.conf) does on
    NixOS; set C(nix.settings) in the NixOS configuration there instead.
  - The Nix daemon reads its configuration at start; restart it (a handler) after a change.
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
      - The nix.conf file to edit.
    type: path
    default: /etc/nix/nix.conf
  settings:
    description:
      - Settings as a mapping from name to value.
      - Booleans become C(true)/C(false), numbers are written as they are, lists are written
        space-separated.
      - With O(state=absent) the value is ignored except for list settings with
        O(list_mode=merge), where it names the items to take out.
      - At least one of O(settings) and O(includes) is required.
    type: dict
    default: {}
  includes:
    description:
      - Absolute paths of files to include with C(!include PATH) lines (a missing file is skipped
        by Nix). With O(state=present) missing lines are added at the end of the file; with
        O(state=absent) the lines including these paths are removed.
      - One file per tool or role (say C(/etc/nix/nixkit.d/client.conf)) lets each own its settings
        without editing the same lines as the others; lists add up across files through C(extra-) names.
    type: list
    elements: path
    default: []
  exclusive:
    description:
      - Remove every setting of the file that O(settings) does not name, so the file holds exactly
        these settings (comments and include lines stay). For files a role owns whole.
      - Only with O(state=present).
    type: bool
    default: false
  state:
    description:
      - V(present) sets the settings, V(absent) removes them (or, with O(list_mode=merge), removes
        the given items from list settings).
    type: str
    choices: [present, absent]
    default: present
  list_mode:
    description:
      - How list-valued settings are written. V(replace) makes the list exactly the given one.
        V(merge) adds the given items to those already in the file, keeping their order, so
        several plays can each contribute to, say, C(trusted-public-keys).
    type: str
    choices: [replace, merge]
    default: replace
  create:
    description:
      - Create the file if it does not exist. Its directory must exist (in check mode it may be
        missing, as an earlier task may create it).
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped copy of the previous file when it changes.
    type: bool
    default: false
notes:
  - Setting C(require-sigs) to C(false) lets any store path in, signed or not; the module warns when asked to.
seealso:
  - name: nix.conf reference
    description: The settings Nix understands and their meaning.
    link: https://nix.dev/manual/nix/stable/command-ref/conf-file.html
'''

EXAMPLES = r'''
- name: Use a private cache and keep signatures required
  nixkit.nix.nix_conf:
    settings:
      substituters:
        - https://cache.example.org
      trusted-public-keys:
        - cache.example.org-1:2Ukd5eT9ZQxC1t5x0c1L7p9jC8I5hYf9n0o9yVvWz1s=
      require-sigs: true
  notify: Restart nix-daemon

- name: Add a builder user to trusted-users without dropping the existing entries
  nixkit.nix.nix_conf:
    settings:
      trusted-users: [nixbuilder]
    list_mode: merge

- name: Remove one substituter and unset max-jobs
  nixkit.nix.nix_conf:
    state: absent
    list_mode: merge
    settings:
      substituters: [https://old-cache.example.org]
      max-jobs:

- name: Own a file of settings and include it from nix.conf
  nixkit.nix.nix_conf:
    path: /etc/nix/nixkit.d/cache.conf
    exclusive: true
    settings:
      extra-substituters: [https://cache.example.org]
      extra-trusted-public-keys: [cache.example.org-1:2Ukd5eT9ZQxC1t5x0c1L7p9jC8I5hYf9n0o9yVvWz1s=]

- name: Include it
  nixkit.nix.nix_conf:
    includes: [/etc/nix/nixkit.d/cache.conf]

- name: Offline lab host - no substituters at all
  nixkit.nix.nix_conf:
    path: /etc/nix/nix.conf
    settings:
      substituters: []
'''

RETURN = r'''
path:
  description: The file that was examined.
  returned: always
  type: str
  sample: /etc/nix/nix.conf
changed_settings:
  description: Names of the settings whose lines were added, edited or removed.
  returned: always
  type: list
  elements: str
  sample: [substituters, max-jobs]
changed_includes:
  description: Paths whose include lines were added or removed.
  returned: always
  type: list
  elements: str
  sample: [/etc/nix/nixkit.d/cache.conf]
settings:
  description: Every setting the file defines after the task (or would, in check mode), with the value Nix reads.
  returned: always
  type: dict
  sample: {"max-jobs": "4", "substituters": "https://cache.example.org"}
backup_file:
  description: The copy of the previous file made with O(backup=true).
  returned: when a backup was made
  type: str
  sample: /etc/nix/nix.conf.1234.2026-11-22@10:00:00~
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.nixkit.nix.plugins.module_utils._files import apply_text, read_text
from ansible_collections.nixkit.nix.plugins.module_utils._nix_conf import (
    NixConfError, apply, apply_includes, effective, parse, remove_unlisted, render,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/nix/nix.conf'),
            settings=dict(type='dict', default={}),
            includes=dict(type='list', elements='path', default=[]),
            exclusive=dict(type='bool', default=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            list_mode=dict(type='str', choices=['replace', 'merge'], default='replace'),
            create=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params['path']
    settings = module.params['settings']
    state = module.params['state']

    if not settings and not module.params['includes']:
        module.fail_json(msg='nothing to do: give settings (name: value) and/or includes (paths)')
    if module.params['exclusive'] and state != 'present':
        module.fail_json(msg='exclusive: only with state=present (it removes the settings not given)')

    before = read_text(module, path, module.params['create'])
    try:
        lines, changed_settings = apply(parse(before or ''), settings, state, module.params['list_mode'])
        if module.params['exclusive']:
            lines, removed = remove_unlisted(lines, settings)
            changed_settings.extend(removed)
        lines, changed_includes = apply_includes(lines, module.params['includes'], state)
    except NixConfError as exc:
        module.fail_json(msg='%s: %s' % (path, to_native(exc)), path=path)
    after = render(lines)

    if state == 'present' and str(settings.get('require-sigs')).lower() == 'false':
        module.warn('require-sigs = false lets unsigned and forged store paths in; keep it true and '
                    'add the cache key to trusted-public-keys instead')

    result = dict(path=path, changed_settings=changed_settings, changed_includes=changed_includes,
                  settings=effective(lines))
    # nix.conf must stay readable by every Nix user.
    changed = apply_text(module, path, before, after, result, new_file_mode=0o644)
    result['changed'] = changed
    module.exit_json(**result)


if __name__ == '__main__':
    main()
