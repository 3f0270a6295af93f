# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: group
short_description: The name of one of the estate's groups (builders, caches, clients, NixOS targets)
version_added: 0.1.0
description:
  - Returns the inventory group the collection uses for a kind of host, from the collection-wide variable that renames
    it (C(nixkit_builders_group), C(nixkit_caches_group), C(nixkit_clients_group), C(nixkit_nixos_targets_group),
    C(nixkit_retired_group)) or the default (C(nix_builders), C(nix_caches), C(nix_clients), C(nixos_targets),
    C(nix_retired)).
  - The defaults are written down once, in the collection's estate model; the playbooks and the roles' defaults ask
    this lookup instead of repeating them.
  - A renaming variable that is not a string fails, naming it.
options:
  _terms:
    description: Kinds of group, each one of V(builders), V(caches), V(clients), V(nixos_targets), V(retired).
    type: list
    elements: str
    required: true
author:
  - nixkit maintainers (@nixkit)
'''

EXAMPLES = r'''
- name: A play over the builders, whatever the inventory calls them
  hosts: "{{ lookup('nixkit.nix.group', 'builders') }}"
  tasks:
    - name: Say which group that is
      ansible.builtin.debug:
        msg: "{{ lookup('nixkit.nix.group', 'builders') }}"
'''

RETURN = r'''
_raw:
  description: The group names, one per term.
  type: list
  elements: str
'''

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        names = []
        for term in terms:
            if term not in estate.GROUP_VARIABLES:
                raise AnsibleError('nixkit.nix.group: %r is not a kind of group; use one of %s'
                                   % (term, ', '.join(sorted(estate.GROUP_VARIABLES))))
            var = estate.GROUP_VARIABLES[term][0]
            given = {var: self._templar.template(variables[var])} if variables and var in variables else {}
            try:
                names.append(estate.group_name(term, given))
            except estate.EstateError as exc:
                raise AnsibleError(str(exc)) from None
        return names
