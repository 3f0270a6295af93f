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
  - With O(state=present), every name in O(settings) must be a setting the host's own Nix knows; the
    module asks it with C(nix config show --json) (C(nix show-config --json) on Nix before 2.20),
    which also names the settings of the plugins nix.conf already loads. C(extra-NAME) is accepted for
    the list settings among them. A typo such as C(buildersx) fails the task with the nearest known name.
    When Nix is not installed yet, or cannot answer, the names are not checked and the result says so in
    a warning. The query only reads; it runs in check mode too, so check mode predicts the same result.
  - The items of C(substituters), C(trusted-substituters) and their C(extra-) forms must be store URLs
    Nix can open - a scheme among C(http), C(https), C(s3), C(ssh), C(ssh-ng), C(file), C(unix),
    C(local), C(mounted-ssh-ng), C(local-overlay), C(dummy), or C(daemon), C(local), C(auto) or an
    absolute path (a local store rooted there). C(cache.example.org) fails and suggests
    C(https://cache.example.org).
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
  allow_unknown_settings:
    description:
      - Setting names to write even though the host's Nix does not know them (yet), such as the settings
        of a Nix plugin that O(settings) itself adds to C(plugin-files), or that a later task installs.
        Naming C(NAME) here also allows C(extra-NAME).
      - Only the names are exempt; their values are still checked as for any setting.
    type: list
    elements: str
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
  - The setting names are checked against the Nix on the managed host, run as the module's user with
    C(LC_ALL=C). Removing settings (O(state=absent)) is never refused for an unknown name, so a misspelt
    setting can be cleaned up.
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

- name: Settings of a Nix plugin loaded by the same task
  nixkit.nix.nix_conf:
    settings:
      plugin-files: [/usr/lib/nix/plugins/libnix-example.so]
      example-plugin-endpoint: https://plugin.example.org
    allow_unknown_settings: [example-plugin-endpoint]

- name: A local store in a directory of its own as a substituter
  nixkit.nix.nix_conf:
    settings:
      extra-substituters: [/srv/nix-mirror, "ssh-ng://nix-ssh@cache.example.org"]

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
differs:
  description:
    - Whether the file differs (or would, in check mode) from what the task asks for; the same as C(changed), and kept
      when a task masks C(changed) with C(changed_when), as a validation run in check mode before the real write
      does. The roles skip the write when such a validation found nothing to change.
  returned: always
  type: bool
  sample: false
  version_added: 0.3.0
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

# The module, not its names: tests stand in for find_nix_tool as they do for the other modules.
from ansible_collections.nixkit.nix.plugins.module_utils import _nix_cmd
from ansible_collections.nixkit.nix.plugins.module_utils._files import apply_text, read_text
from ansible_collections.nixkit.nix.plugins.module_utils._nix_conf import (
    NixConfError, apply, apply_includes, check_known_names, check_name, check_store_urls, effective,
    known_settings, parse, remove_unlisted, render,
)

# Nix 2.20 and later; `show-config` is its older name (Debian's Nix 2.8 has only that).
CONFIG_QUERIES = (['config', 'show', '--json'], ['show-config', '--json'])


class _NixMissing(Exception):
    pass


class _Probe(object):
    """Stands in for the module while looking for `nix`: find_nix_tool's failure becomes an exception."""

    def fail_json(self, msg, **kwargs):
        raise _NixMissing(msg)


def nix_known_settings(module):
    """(names, appendable) of the settings the host's Nix knows, or None after a warning when it
    cannot tell (not installed yet, or no answer). Read-only, so it runs in check mode too."""
    try:
        _nix_cmd.find_nix_tool(_Probe(), 'nix')
    except _NixMissing:
        module.warn('setting names were not checked: Nix is not installed on this host (no nix in %s); '
                    'they are checked once it is' % ', '.join(_nix_cmd.NIX_BIN_DIRS))
        return None
    answers = []
    for args in CONFIG_QUERIES:
        rc, out, err = _nix_cmd.run_nix(module, args, environ_update={'LC_ALL': 'C'})
        if rc == 0:
            try:
                return known_settings(out)
            except ValueError as exc:
                answers.append('nix %s printed no settings JSON (%s)' % (' '.join(args), to_native(exc)))
                continue
        lines = [line for line in (err or '').splitlines() if line.strip()]
        answers.append('nix %s: %s' % (' '.join(args), lines[-1].strip() if lines else 'exit code %d' % rc))
    module.warn('setting names were not checked: the Nix on this host did not list its settings (%s)'
                % '; '.join(answers))
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/nix/nix.conf'),
            settings=dict(type='dict', default={}),
            includes=dict(type='list', elements='path', default=[]),
            allow_unknown_settings=dict(type='list', elements='str', default=[]),
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

    try:
        for name in module.params['allow_unknown_settings']:
            check_name(name)
        if state == 'present':
            # Values first: they need no Nix. Removing is never refused, so typos can be cleaned up.
            check_store_urls(settings)
            known = nix_known_settings(module) if settings else None
            if known is not None:
                check_known_names(settings, known[0], known[1], module.params['allow_unknown_settings'])
    except NixConfError as exc:
        module.fail_json(msg='%s: %s' % (path, to_native(exc)), path=path)

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
    result['changed'] = result['differs'] = bool(changed)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
