#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the action plugin plugins/action/nixos_deploy_report.py, which does the
# work on the controller (as ansible.builtin.debug is documented).

DOCUMENTATION = r'''
---
module: nixos_deploy_report
short_description: Write a deploy run's JSON report on the controller
version_added: 0.1.0
description:
  - Writes one JSON file on the controller, an object with C(generated) (the time) and C(hosts) (the records the role
    C(nixkit.nix.nixos_deploy) keeps per host in C(nixos_deploy_result)). The role calls it once per run (every batch
    rewrites it with the hosts so far); use it yourself to report a run of your own deploy play.
  - It runs in the controller's Ansible process, with no module execution, so it costs a few milliseconds where
    C(ansible.builtin.copy) to C(localhost) costs about a second of every deploy.
  - The file is replaced atomically (a temporary file in the same directory, renamed), mode C(0644). It holds no secret;
    the records name secret files, never their content.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: Writes nothing and reports that it would write the report.
  diff_mode:
    support: none
    details: A report describes a run; every run writes a new one.
  become:
    description: Writes as the user running Ansible.
    support: none
  safe_file_operations:
    support: full
extends_documentation_fragment:
  - nixkit.nix.attributes
  - nixkit.nix.attributes.action
  - nixkit.nix.attributes.files
options:
  path:
    description: The report file on the controller; a relative path is taken from the directory Ansible was started in.
      Its directory must exist.
    type: str
    required: true
  results:
    description:
      - The records, one per host, written as given under C(hosts).
      - Default, the fact O(fact) of every host of the play that has it (earlier C(serial) batches included), in the
        play's order.
    type: list
    elements: dict
  fact:
    description: The host fact that holds each host's record, when O(results) is not given.
    type: str
    default: nixos_deploy_result
  variable:
    description: The name error messages use for O(path), so a role can name the variable its user set.
    type: str
    default: path
seealso:
  - module: nixkit.nix.nixos_switch
'''

EXAMPLES = r'''
- name: Write one report for the hosts deployed so far (their nixos_deploy_result)
  nixkit.nix.nixos_deploy_report:
    path: reports/deploy-{{ lookup('ansible.builtin.pipe', 'date +%F') }}.json
  run_once: true

- name: Report records of your own deploy play, kept in the fact my_deploy
  nixkit.nix.nixos_deploy_report:
    path: my-deploy.json
    fact: my_deploy
  run_once: true
'''

RETURN = r'''
path:
  description: The report file.
  returned: always
  type: str
  sample: nixos-deploy-report.json
hosts:
  description: How many records it holds.
  returned: always
  type: int
  sample: 4
'''
