#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: nix_build
short_description: Build a flake attribute, a Nix file's attribute or an expression; report its store paths
version_added: 0.1.0
description:
  - Builds one derivation, named by a flake output (O(flake)), an attribute of a Nix file (O(file) and O(attr)) or an
    expression (O(expr) and O(attr)), on the host the task runs on or in a remote build store (O(store)), and returns its
    derivation and output store paths. It is the first step of C(nixos-rebuild) (building the system's toplevel).
  - Decides from the store's state. It first evaluates the derivation and its output paths (C(nix eval), nothing is
    built), then asks the store which outputs it lacks (C(nix-store --check-validity --print-invalid), which neither
    builds nor substitutes). When every output is already valid nothing runs and the task reports no change.
    Otherwise it builds the derivation (C(nix build DRV^*)), which may substitute from the store's caches.
  - In check mode it evaluates and asks the store the same questions, builds nothing, and reports C(changed) when it
    would build. Evaluation writes the C(.drv) files into the store, as C(nix-instantiate) does; they are not outputs.
  - Failures name the option at fault. An evaluation error names O(flake), O(file), O(expr) or O(attr) and gives Nix's
    own message; a missing attribute is named; a value that is not a derivation is refused; a failed build gives the
    derivation and the builder's last log lines.
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: Evaluates, asks the store which outputs it lacks, and reports whether it would build. Builds nothing.
  diff_mode:
    support: none
extends_documentation_fragment:
  - nixkit.nix.attributes
options:
  flake:
    description:
      - A flake output to build, C(FLAKEREF#ATTRIBUTE), for example C(/srv/fleet#nixosConfigurations.web1.config.system.build.toplevel)
        or C(path:/srv/fleet#...) for a directory that is not a Git checkout.
      - The C(flakes) experimental feature is turned on for this task.
      - Exactly one of O(flake), O(file) and O(expr) is required.
    type: str
  file:
    description:
      - A Nix file on the host the task runs on, evaluated as C(nix eval --file). If it evaluates to a function, it is
        called with O(argstr) and the defaults of its other arguments, once an O(attr) is selected.
    type: path
  expr:
    description:
      - A Nix expression, evaluated impurely (so it may import absolute paths and read C(NIX_PATH)).
    type: str
  attr:
    description:
      - The attribute path to build in O(file) or O(expr), for example C(toplevel) or C(machines.web1.toplevel).
      - Empty means the value itself. With O(flake) the attribute goes after C(#) and this option is refused.
    type: str
    default: ''
  argstr:
    description:
      - String arguments for a O(file) or O(expr) that is a function (C(--argstr NAME VALUE)).
    type: dict
    default: {}
  store:
    description:
      - Build in this store instead of the host's own, for example C(ssh-ng://root@builder1) (Nix's C(--store), with
        the host's own store for evaluation). The outputs stay in that store.
      - Outputs are checked and built there; the derivation is copied there by Nix.
    type: str
  out_link:
    description:
      - Keep the first output alive with this garbage collector root, a symlink Nix registers (C(--out-link)).
        Without it the outputs may be collected by the next C(nix-collect-garbage) on that store.
      - Changed when the link is created or pointed elsewhere. Missing directories above it are made (mode 0755).
        Not with O(store).
    type: path
  options:
    description:
      - Nix settings for evaluation and build, passed as C(--option NAME VALUE), for example V(max-jobs) set to 4,
        or V(substituters) set to an empty list. Lists are joined with spaces, booleans are written C(true)/C(false).
    type: dict
    default: {}
notes:
  - The task runs Nix as the user it runs as. A user the daemon does not trust can still build; settings in O(options)
    that the daemon reserves for trusted users are then ignored with a warning from Nix.
  - Content-addressed derivations (whose output paths are known only after the build) are not supported.
seealso:
  - module: nixkit.nix.nix_copy
  - module: nixkit.nix.nixos_switch
  - name: nix build
    description: The Nix command this module runs.
    link: https://nix.dev/manual/nix/stable/command-ref/new-cli/nix3-build
'''

EXAMPLES = r'''
- name: Build web1's NixOS system from the fleet's flake
  nixkit.nix.nix_build:
    flake: "/srv/fleet#nixosConfigurations.web1.config.system.build.toplevel"
    out_link: /nix/var/nix/gcroots/nixkit/web1
  register: system

- name: Build a system from a Nix file, with an argument
  nixkit.nix.nix_build:
    file: /srv/fleet/machines.nix
    attr: web1.toplevel
    argstr:
      release: "24.11"
  register: system

- name: Build an expression in the store of a remote builder
  nixkit.nix.nix_build:
    expr: (import <nixpkgs> {}).hello
    store: ssh-ng://root@builder1.example.org
  register: hello

- name: Would anything be built?
  nixkit.nix.nix_build:
    flake: "/srv/fleet#nixosConfigurations.web1.config.system.build.toplevel"
  check_mode: true
  register: would
'''

RETURN = r'''
drv_path:
  description: The store derivation that was (or would be) built.
  returned: success
  type: str
  sample: /nix/store/q0cq9njcrc98r7a91gf1y9rimwmgp7yb-nixos-system-web1-24.11.drv
out_paths:
  description: The output store paths, C(out) first, then the other outputs by name.
  returned: success
  type: list
  elements: str
  sample: [/nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11]
outputs:
  description: Each output's name and store path.
  returned: success
  type: dict
  sample: {out: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11}
missing:
  description: The output paths the store lacked before the task (in check mode, still lacks).
  returned: success
  type: list
  elements: str
  sample: [/nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11]
built:
  description: Whether C(nix build) ran (never in check mode).
  returned: success
  type: bool
  sample: true
stderr:
  description: What Nix wrote to standard error in the step that failed.
  returned: failure
  type: str
  sample: "error: builder for '/nix/store/q0cq9njcrc98r7a91gf1y9rimwmgp7yb-bad.drv' failed with exit code 3"
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixkit.nix.plugins.module_utils._build import (
    DESCRIBE, BuildError, build_failure, eval_failure, installable_args, option_args, ordered_outputs, parse_description,
    parse_invalid,
)
from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import run_nix


def features(extra):
    return ['--extra-experimental-features', ' '.join(extra)] if extra else []


def main():
    module = AnsibleModule(
        argument_spec={
            'flake': dict(type='str'),
            'file': dict(type='path'),
            'expr': dict(type='str'),
            'attr': dict(type='str', default=''),
            'argstr': dict(type='dict', default={}),
            'store': dict(type='str'),
            'out_link': dict(type='path'),
            'options': dict(type='dict', default={}),
        },
        mutually_exclusive=[('flake', 'file', 'expr'), ('store', 'out_link')],
        required_one_of=[('flake', 'file', 'expr')],
        supports_check_mode=True,
    )
    params = module.params
    store = params['store']
    try:
        field, installable, extra = installable_args(params)
        settings = option_args(params['options'])
    except BuildError as e:
        module.fail_json(msg=str(e))
    if field == 'file' and not os.path.isfile(params['file']):
        module.fail_json(msg='file: %s does not exist on this host (or is not a file)' % params['file'])
    store_args = ['--store', store] if store else []

    # 1. Evaluate: the derivation and its output paths, nothing built.
    rc, out, err = run_nix(module, features(extra) + ['eval', '--json'] + installable + ['--apply', DESCRIBE] + settings)
    if rc != 0:
        module.fail_json(msg=eval_failure(field, params, err), stderr=err)
    try:
        drv, outputs = parse_description(out)
    except BuildError as e:
        module.fail_json(msg=str(e))
    out_paths = ordered_outputs(outputs)
    result = dict(drv_path=drv, outputs=outputs, out_paths=out_paths, built=False)

    # 2. Which outputs does the store lack? (validity only: nothing is built or substituted)
    rc, out, err = run_nix(module, store_args + ['--check-validity', '--print-invalid'] + out_paths, tool='nix-store')
    if rc != 0:
        module.fail_json(msg='nix-store --check-validity on %s failed: %s' % (store or 'the local store', err.strip()),
                         stderr=err, **result)
    result['missing'] = missing = parse_invalid(out)
    link = params['out_link']
    link_ok = not link or (os.path.islink(link) and os.readlink(link) == out_paths[0])
    changed = bool(missing) or not link_ok
    if module.check_mode or not changed:
        module.exit_json(changed=changed, **result)

    # 3. Build the derivation (all its outputs); substitutes may supply them. Nix does not make the link's
    # directory, and a caller (nixos_deploy) would otherwise pay a task for it.
    if link and not os.path.isdir(os.path.dirname(link)):
        try:
            os.makedirs(os.path.dirname(link), mode=0o755, exist_ok=True)
        except OSError as e:
            module.fail_json(msg='out_link: cannot make its directory %s: %s' % (os.path.dirname(link), e.strerror), **result)
    link_args = ['--out-link', link] if link else ['--no-link']
    build_args = store_args + (['--eval-store', 'auto'] if store else [])
    rc, out, err = run_nix(module, ['build', '--print-out-paths'] + link_args + build_args + settings + [drv + '^*'])
    if rc != 0:
        module.fail_json(msg=build_failure(drv, err), stderr=err, **result)
    result['built'] = bool(missing)
    module.exit_json(changed=True, **result)


if __name__ == '__main__':
    main()
