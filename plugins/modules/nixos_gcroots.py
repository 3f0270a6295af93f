#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nixos_gcroots
short_description: Keep a target's deployed system and its previous ones alive in a build host's store
version_added: 0.1.0
description:
  - Garbage collector roots on the host that builds NixOS systems, for one target. The system the target runs and the
    O(keep) systems it ran before stay in the store through any C(nix-store --gc) or C(nix-collect-garbage), so a
    redeployment or a rollback finds them without a rebuild. Older ones lose their root and are collected by the next
    garbage collection.
  - The roots are links in O(dir), which must be under C(/nix/var/nix/gcroots) (Nix follows links there, in
    subdirectories too). C(DIR/NAME) is the current system, C(DIR/.history/NAME/1) to C(N) the previous ones, newest
    first, and C(DIR/.building/NAME) a system being deployed (M(nixkit.nix.nix_build) O(nixkit.nix.nix_build#module:out_link)).
  - After a deployment give O(running), the system the target runs now. When it differs from the current one, the current
    one moves to the front of the history. After a failed deployment, or a rollback to the current system, nothing moves.
    The link in C(DIR/.building) is removed either way (O(drop_building)).
  - Every link is replaced atomically (a new link renamed over the old one).
  - An action plugin that runs two POSIX shell commands on the host (read the links, then set them), no Python
    there.
  - The role nixkit.nix.nixos_deploy calls it after each deployment (C(nixos_deploy_keep_generations)).
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: Reports the roots it would set and the systems that would lose theirs (RV(released)); changes nothing.
  diff_mode:
    support: none
extends_documentation_fragment:
  - nixkit.nix.attributes
  - nixkit.nix.attributes.action
  - nixkit.nix.attributes.shell_action
options:
  dir:
    description: The directory of the roots, under C(/nix/var/nix/gcroots). Made when missing.
    type: path
    required: true
  name:
    description: The target, usually its inventory name. Not starting with a dot, no C(/).
    type: str
    required: true
  running:
    description:
      - The system the target runs now (a store path), when the deployment activated it (V(switch), V(test)), registered
        it for the next boot (V(boot)), or rolled back to it.
      - Omitted or empty when the deployment ended before that (failed build, copy or activation); nothing moves then.
      - A system that is not in this host's store (built elsewhere) gets no root here; RV(msg) says so.
    type: str
  keep:
    description: How many previous systems keep a root besides the current one. V(0) keeps the current one only.
    type: int
    default: 1
  drop_building:
    description: Remove C(DIR/.building/NAME), the root that kept the system alive during the deployment.
    type: bool
    default: true
seealso:
  - module: nixkit.nix.nix_build
'''

EXAMPLES = r'''
- name: Web1 now runs the system just deployed; keep it and the two before it on the build host
  nixkit.nix.nixos_gcroots:
    dir: /nix/var/nix/gcroots/nixkit-deploy
    name: web1
    running: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11
    keep: 2
  delegate_to: build1
  become: true
'''

RETURN = r'''
current:
  description: The system rooted as the target's current one, or V(null).
  returned: always
  type: str
  sample: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11
previous:
  description: The previous systems that keep a root, newest first.
  returned: always
  type: list
  elements: str
msg:
  description: Why a system got no root here (it is not in this host's store), or empty.
  returned: always
  type: str
released:
  description: Systems that had a root for this target and no longer have one (collected by the next garbage collection
    unless something else keeps them).
  returned: always
  type: list
  elements: str
'''
