#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the action plugin plugins/action/nixos_secrets.py, which does the work
# on the controller and runs shell commands on the target (as ansible.builtin.debug is documented).

DOCUMENTATION = r'''
---
module: nixos_secrets
short_description: Write secret files outside the Nix store, before or after activation; no Python on the target
version_added: 0.1.0
description:
  - What colmena's C(deployment.keys) and morph's secrets do. Writes files (keys, passwords, tokens) on the target with an
    owner, a group and a mode, never into the Nix store, whose content every local user and every cache that copies it
    can read.
  - An action plugin that runs only POSIX shell commands on the target (C(sh), coreutils, C(getent)), so the target needs
    no Python, as on a stock NixOS host. It needs root there (C(become)).
  - The content reaches the target on the standard input of a shell command, never in a command line (which C(-vvv)
    prints and C(ps) shows), a result, a message or a diff. The target compares it with the file itself (C(cmp)), so not
    even a hash of it is sent back.
  - Each file is written atomically. A temporary file in the same directory (mode 0600 from the start) gets the owner, the
    group and the mode, then is renamed over the file. A symbolic link at O(secrets[].dest) is replaced by the file, not
    followed. Missing directories above it are made C(root:root 0755).
  - Unchanged content with the right owner, group and mode is not written again (C(changed=false)).
  - Before anything is written every secret is checked, whatever its stage. A O(secrets[].dest) inside C(/nix/store), one
    whose directory resolves there through a symbolic link, a link into the store (a file the system manages) or a
    directory is refused, naming O(variable) and the item, and nothing is changed.
  - Every file it writes is listed in O(manifest) on the target. With O(prune=true), a file listed there that no secret
    of O(secrets) names any more is removed (a link itself, never what it points to; a directory is left with a warning),
    so a secret dropped from the inventory does not stay on the target.
  - Use C(no_log=true) on the task. The plugin never returns content, but Ansible would print the task's arguments on a
    failure of argument validation.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: Compares each secret with the file on the target (content on stdin, read-only) and reports what it would write.
  diff_mode:
    support: partial
    details: The diff names the file and shows its owner, group and mode before and after; the content is never shown,
      only whether it changed.
  safe_file_operations:
    support: full
extends_documentation_fragment:
  - nixkit.nix.attributes
  - nixkit.nix.attributes.action
  - nixkit.nix.attributes.shell_action
  - nixkit.nix.attributes.files
options:
  secrets:
    description:
      - The secrets. An empty list does nothing.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: The absolute path of the file on the target. Not in C(/nix/store). Each path appears once.
        type: str
        required: true
      content:
        description: The secret itself, for example from a vaulted variable. Written as given (no newline added).
        type: str
      src:
        description:
          - A file on the controller holding the secret (may be encrypted with Ansible Vault; it is decrypted on the
            controller). Relative paths are looked up as C(ansible.builtin.copy) looks up its C(src) (a role's C(files/), the
            playbook's directory). Exactly one of O(secrets[].content) and O(secrets[].src).
        type: str
      owner:
        description: The file's owner, a user name or a numeric id.
        type: str
        default: root
      group:
        description: The file's group, a group name or a numeric id.
        type: str
        default: root
      mode:
        description: The file's mode, an octal string such as V("0600") or V("0640").
        type: raw
        default: "0600"
      upload:
        description:
          - V(pre-activation) secrets are in place before C(switch-to-configuration) runs, so the new system's services
            find them when they start. V(post-activation) secrets are written after it, when the users and groups the new
            system declares exist.
        type: str
        choices: [pre-activation, post-activation]
        default: pre-activation
  stage:
    description:
      - Which secrets to write now. V(all) writes every secret. V(pre-activation) and V(post-activation) write only the
        secrets with that O(secrets[].upload) (and check all). V(validate) checks every secret on the controller and the
        target and writes nothing.
    type: str
    choices: [all, pre-activation, post-activation, validate]
    default: all
  variable:
    description: The name error messages use for O(secrets), so a role can name the variable its user set.
    type: str
    default: secrets
  prune:
    description:
      - Remove the files listed in O(manifest) that no item of O(secrets) names any more, after writing this stage's
        secrets. With an empty O(secrets) every file the manifest lists is removed.
      - Run it at the last stage of a deploy (V(post-activation) or V(all)), so services of the old system do not lose a
        file they still read before the new system replaces them. Ignored with O(stage=validate).
      - In check mode it reports what it would remove; in diff mode each removal shows as the file going, never its content.
    type: bool
    default: false
  manifest:
    description:
      - The file on the target that lists, one path a line, the files this plugin wrote there (root, mode 0600). It is
        kept up to date on every run that writes; it is not counted as a change.
      - Use one manifest per list of secrets. Two lists with the same manifest and O(prune=true) remove each other's files.
    type: str
    default: /var/lib/nixkit/secrets.list
notes:
  - Secrets are not part of a NixOS generation. A rollback of the system (M(nixkit.nix.nixos_switch) O(nixkit.nix.nixos_switch#module:action=rollback),
    magic rollback) leaves the files as last written. Change a secret in a way the running system can still use, or deploy
    the old value again.
  - The role nixkit.nix.nixos_deploy writes its C(nixos_deploy_secrets) with this plugin, before and after the activation.
  - Needs a connection plugin that can send a command's standard input (C(ssh), C(local)); C(paramiko_ssh) cannot.
seealso:
  - module: nixkit.nix.nixos_switch
'''

EXAMPLES = r'''
- name: Put the database password and the TLS key in place before the new system starts its services
  nixkit.nix.nixos_secrets:
    secrets:
      - dest: /run/keys/db-password
        content: "{{ vault_db_password }}"
        owner: root
        group: keys
        mode: "0640"
      - dest: /var/lib/secrets/tls.key
        src: secrets/web1-tls.key.vault
    stage: pre-activation
  become: true
  no_log: true
  register: written

- name: Say which secrets changed (names only)
  ansible.builtin.debug:
    msg: "{{ written.secrets | selectattr('changed', 'defined') | selectattr('changed') | map(attribute='dest') | list }}"

- name: After the switch, the token of a service user the new system created
  nixkit.nix.nixos_secrets:
    secrets:
      - dest: /var/lib/app/token
        content: "{{ vault_app_token }}"
        owner: app
        upload: post-activation
    stage: post-activation
  become: true
  no_log: true

- name: Remove the secrets this host no longer has in its list (here, all of them)
  nixkit.nix.nixos_secrets:
    secrets: []
    prune: true
  become: true
  no_log: true
'''

RETURN = r'''
secrets:
  description: Each secret without its content, with what happened to it.
  returned: always
  type: list
  elements: dict
  contains:
    dest:
      description: The file.
      type: str
    owner:
      description: Its owner.
      type: str
    group:
      description: Its group.
      type: str
    mode:
      description: Its mode, four octal digits.
      type: str
    upload:
      description: Its stage.
      type: str
    state:
      description: V(written), V(unchanged), V(would write) (check mode), V(other stage) or V(valid) (O(stage=validate)).
      type: str
    changed:
      description: Whether it was (or in check mode would be) written. Absent for other stages.
      type: bool
  sample:
    - {dest: /run/keys/db-password, owner: root, group: keys, mode: "0640", upload: pre-activation, state: written, changed: true}
removed:
  description: The files removed (or, in check mode, that would be removed) because no secret names them any more.
  returned: always
  type: list
  elements: str
  sample: [/run/keys/old-token]
error:
  description: Why the secrets were refused or could not be written (names O(variable), the item and its O(secrets[].dest)); V(null) otherwise.
  returned: always
  type: str
'''
