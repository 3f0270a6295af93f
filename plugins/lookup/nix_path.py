# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: nix_path
short_description: The PATH that finds Nix's commands on any host the collection manages
version_added: 0.1.0
description:
  - Returns the C(PATH) every shell command of the collection uses on a host - NixOS's system profile, the upstream
    installer's default profile, then the system's directories (sbin too) - for tasks of your own that run C(nix),
    C(nix-build) or C(nix-store) with C(ansible.builtin.command) on hosts set up by the collection.
  - The same value the roles use; it is spelled in one place in the collection.
options: {}
author:
  - nixkit maintainers (@nixkit)
'''

EXAMPLES = r'''
- name: Build something with the host's Nix
  ansible.builtin.command:
    argv: [nix-build, --no-out-link, /srv/default.nix]
  environment:
    PATH: "{{ lookup('nixkit.nix.nix_path') }}"
  changed_when: false
'''

RETURN = r'''
_raw:
  description: The PATH, one string.
  type: list
  elements: str
'''

from ansible.plugins.lookup import LookupBase

from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import NIX_PATH


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        return [NIX_PATH]
