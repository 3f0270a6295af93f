#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the action plugin plugins/action/estate.py, which runs on the controller.

DOCUMENTATION = r'''
---
module: estate
short_description: A role's typed variables and its view of the Nix estate, from the inventory
version_added: 0.2.0
description:
  - The one place where the wiring between hosts is derived from the inventory, on the controller, in Python
    (C(plugins/plugin_utils/_estate.py)). The roles of this collection call it first and use nothing else of
    other hosts or other roles.
  - "Groups: C(nixkit_builders_group) (default C(nix_builders)), C(nixkit_caches_group) (C(nix_caches)),
    C(nixkit_clients_group) (C(nix_clients)), C(nixkit_nixos_targets_group) (C(nixos_targets)). A host may be in
    several; a group may be empty or missing."
  - "How other Nix hosts reach a host over SSH: C(nixkit_address), else C(ansible_host), else its inventory name;
    port C(nixkit_ssh_port), else C(ansible_port), else 22; C(nixkit_ssh_options), a mapping of more
    C(ssh_config) options (C(ProxyJump), ...). Nix ignores ports in store URLs: ports and options reach root's
    SSH through an C(ssh_config) drop-in the client role writes (RV(ssh_config))."
  - "What hosts publish about themselves: descriptors written with M(nixkit.nix.descriptor). Those published in
    this run are facts (C(nixkit_client), C(nixkit_builder), C(nixkit_cache)); the others are read from the hosts
    by the calling role and passed in O(fetched)."
  - "Membership is exclusive: a builder's view holds exactly the current clients' keys, a client's exactly the
    current builders and caches; what leaves the inventory loses its access on the next run."
  - "The role's own variables are validated against its C(meta/argument_specs.yml) and returned as the declared
    types in RV(args): C(true) from an INI inventory, C(-e key=value) or an AWX survey becomes a boolean, C(\"1\")
    a number, C(\"a,b\") a list. A value that cannot be converted fails the task naming the variable, before any
    change."
  - "Peers not wired in yet are named in a warning: a builder's or cache's clients without published keys
    (RV(keyless_clients), and which of them are down), a client's builders and caches without a descriptor."
  - "Runs on the controller; the host needs no Python. For roles V(nix_builder), V(nix_client) and
    V(nix_cache_server), V(view=main) runs one shell command on the host (C(nix --version), whether it is
    NixOS, returned as RV(nixos)) and fails, before any change, when its Nix is older than 2.16. For V(nix_install)
    the same command also reads what RV(host) returns."
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  action:
    description: Runs on the controller as an action plugin.
    support: full
extends_documentation_fragment:
  - nixkit.nix.attributes
options:
  role:
    description: Whose variables and view.
    type: str
    required: true
    choices: [nix_builder, nix_cache_server, nix_client, nix_install, nixos_deploy]
  view:
    description:
      - V(main) returns the typed variables, the view and the role's RV(plan). V(netrc) (role V(nix_client) only) returns
        the HTTP caches' accounts of this client, passwords included, in RV(netrc); hide that task's result with C(no_log).
      - V(plan) (roles V(nix_builder), V(nix_cache_server), V(nix_client); run it with C(run_once)) returns the
        descriptors to read from their hosts in RV(read), those of the role's peers that are not facts of this run.
        It first tries each of those hosts' SSH port from the controller, all at once, where the controller's
        connection goes (C(ansible_host), else the inventory name; C(ansible_port), else 22; hosts whose
        C(ansible_connection) is not SSH are not tried). Hosts that do not answer within 10 s (a client's
        C(nix_client_preflight_timeout)) are left out of RV(read) and listed in RV(down), since a delegated read of a host
        that is down would end the play. Neither the host nor any peer is changed; V(main) and V(netrc) do not run
        C(nix --version) again for V(plan).
      - V(keys) (role V(nix_client) only; its entry point C(keys)) reads root's SSH key, the signing key pair and the client
        descriptor with one shell command and returns in RV(differs) which of them still need their task; when the
        descriptor already says what the keys are, it is published as the fact C(nixkit_client).
    type: str
    choices: [main, netrc, plan, keys]
    default: main
  fetched:
    description:
      - Results of M(nixkit.nix.descriptor) with O(nixkit.nix.descriptor#module:state=read), delegated to the hosts
        in RV(read) of the plan, each with C(item) set to C({host, kind}). Hosts that could not be read are reported
        (a client's builder or cache that is down fails the task; a builder's or cache's client that is down is
        listed in RV(unreachable_clients) and not authorized).
    type: list
    elements: raw
    default: []
  down:
    description:
      - RV(down) of the plan, C({host, kind, msg}) for each host whose SSH port did not answer. Reported as in
        O(fetched).
    type: list
    elements: raw
    default: []
seealso:
  - module: nixkit.nix.descriptor
'''

EXAMPLES = r'''
- name: Which clients' descriptors to read (not published in this run), and which of them are down
  nixkit.nix.estate:
    role: nix_builder
    view: plan
  run_once: true
  register: plan

- name: Read them, once per play
  nixkit.nix.descriptor:
    kind: "{{ item.kind }}"
    state: read
  delegate_to: "{{ item.host }}"
  run_once: true
  loop: "{{ plan.read }}"
  register: fetched
  failed_when: false
  check_mode: false

- name: Type this role's variables and learn which clients to authorize
  nixkit.nix.estate:
    role: nix_builder
    fetched: "{{ fetched.results }}"
    down: "{{ plan.down }}"
  register: builder

- name: Show them
  ansible.builtin.debug:
    msg: "{{ builder.clients }} may build here; trusted: {{ builder.args.trusted }}"
'''

RETURN = r'''
args:
  description: The role's variables as their declared types, by name without the role prefix; secrets (C(no_log)) left out.
  returned: with O(view=main)
  type: dict
  sample: {"trusted": false, "max_jobs": "auto", "speed_factor": 2}
nixos:
  description: Whether the host is NixOS (C(/etc/NIXOS) exists, or os-release says so); the roles then write a NixOS
    module instead of files.
  returned: role nix_builder, nix_client, nix_cache_server or nix_install with O(view=main)
  type: bool
  sample: false
target:
  description:
    - How the build host reaches this target (role V(nixos_deploy)), as every Nix host of the estate is reached
      (C(nixkit_address), C(nixkit_ssh_port), C(nixkit_ssh_options)); C(nixos_deploy_target_address) overrides the
      address for the deploy only. A port out of range, an address that is not one, or an option whose value has spaces
      (C(NIX_SSHOPTS) is split on them) fails the task, naming the variable, before any change.
    - C(null) for a host that defines neither C(nixos_deploy_flake) nor C(nixos_deploy_file) (nothing to deploy).
  returned: role nixos_deploy with O(view=main)
  type: dict
  contains:
    address:
      description: The name or address the build host's ssh connects to.
      type: str
    port:
      description: The SSH port.
      type: int
    options:
      description: The C(ssh_config) options of C(nixkit_ssh_options), values as ssh reads them.
      type: dict
    sshopts:
      description: C(NIX_SSHOPTS) for the build host's Nix (port, C(HostKeyAlias), options).
      type: str
    store_url:
      description: The target's store as the build host opens it, before the host key is pinned.
      type: str
  sample: {"name": "web1", "address": "10.0.0.5", "port": 2222, "options": {"ProxyJump": "root@bastion"},
           "sshopts": "-p 2222 -o HostKeyAlias=10.0.0.5 -o ProxyJump=root@bastion", "store_url": "ssh-ng://root@10.0.0.5"}
host:
  description: What role nix_install needs to know about the host, read with the same shell command before any change.
  returned: role nix_install with O(view=main)
  type: dict
  contains:
    nixos:
      description: Whether the host is NixOS.
      type: bool
    os_family:
      description: V(Debian) (also Ubuntu and others like it), V(NixOS), else the os-release ID or V(unknown).
      type: str
    distribution:
      description: The system's name from os-release, for messages.
      type: str
    nix_absent:
      description: Whether C(/nix/var/nix) is missing.
      type: bool
    nix_owner:
      description: Owner of C(/nix/var/nix) when it is not root (a single-user install), else empty.
      type: str
    nix_group:
      description: Its group, with RV(host.nix_owner).
      type: str
    version:
      description: The first line of C(nix --version), empty without Nix.
      type: str
    missing_users:
      description: Users of C(nix_install_daemon_users) the host does not have.
      type: list
      elements: str
    installed_packages:
      description: Of the packages asked about (C(python3-apt) and C(nix_install_packages), package method), those dpkg
        reports installed.
      type: list
      elements: str
    path:
      description: The PATH the probe looked for Nix on (NixOS, the installer's profile, the distribution's directories).
      type: str
  sample: {"nixos": false, "os_family": "Debian", "distribution": "Debian GNU/Linux 13 (trixie)", "nix_absent": false,
           "nix_owner": "", "nix_group": "", "version": "nix (Nix) 2.26.3", "missing_users": [],
           "installed_packages": ["python3-apt", "nix-bin"], "path": "/run/current-system/sw/bin:/usr/bin:/bin"}
clients:
  description: Builder and cache views - the clients whose keys are authorized.
  returned: role nix_builder or nix_cache_server
  type: list
  elements: str
keyless_clients:
  description: Clients of the group without published keys yet (not authorized).
  returned: role nix_builder or nix_cache_server
  type: list
  elements: str
unreachable_clients:
  description: Clients whose descriptors could not be read because the host was down.
  returned: role nix_builder or nix_cache_server
  type: list
  elements: str
ssh_keys:
  description: Builder view - the SSH public keys its build user authorizes.
  returned: role nix_builder
  type: list
  elements: str
signing_keys:
  description: Builder view - the signing keys whose inputs it accepts.
  returned: role nix_builder
  type: list
  elements: str
reader_keys:
  description: Cache view - SSH keys that may read the store.
  returned: role nix_cache_server
  type: list
  elements: str
writer_keys:
  description: Cache view - SSH keys that may also upload.
  returned: role nix_cache_server
  type: list
  elements: str
upload_keys:
  description: Cache view - the writers' signing keys uploads must carry.
  returned: role nix_cache_server
  type: list
  elements: str
builders:
  description: Client view - machines-file entries (M(nixkit.nix.nix_machines)), one per builder, in inventory order.
  returned: role nix_client
  type: list
  elements: dict
builders_missing:
  description: Client view - builders that have not published a descriptor (not set up yet).
  returned: role nix_client
  type: list
  elements: str
caches:
  description: Client view - the caches, one entry per transport (C(host), C(transport), C(url), C(public_keys), ...).
  returned: role nix_client
  type: list
  elements: dict
caches_missing:
  description: Client view - caches that have not published a descriptor.
  returned: role nix_client
  type: list
  elements: str
substituters:
  description: Client view - the substituter URLs of the caches.
  returned: role nix_client
  type: list
  elements: str
cache_keys:
  description: Client view - the caches' public keys.
  returned: role nix_client
  type: list
  elements: str
pins:
  description: Client view - C({name, key}) host keys to pin in root's known_hosts.
  returned: role nix_client
  type: list
  elements: dict
ssh_config:
  description: Client view - C(ssh_config) blocks for builders and caches on other ports or with options.
  returned: role nix_client
  type: str
read:
  description: Plan - the descriptors to read, C({host, kind}) (and C(path) for a client's caches when
    C(nix_client_cache_descriptor_path) is set), in inventory order; loop a delegated
    M(nixkit.nix.descriptor) O(nixkit.nix.descriptor#module:state=read) over it.
  returned: with O(view=plan)
  type: list
  elements: dict
  sample: [{"host": "client2", "kind": "client"}]
down:
  description: Plan - the peers to read whose SSH port did not answer, C({host, kind, msg}); pass them to O(down).
  returned: with O(view=plan)
  type: list
  elements: dict
  sample: [{"host": "client3", "kind": "client", "msg": "nothing answered on 10.0.0.3 port 22 within 10 s"}]
netrc:
  description: The client's netrc, secret - hide the task's result with C(no_log).
  returned: with O(view=netrc)
  type: dict
  contains:
    entries:
      description: The HTTP caches' accounts of this client (C(machine), C(login), C(password)), then C(nix_client_netrc).
      type: list
      elements: dict
    content:
      description: The netrc file made of them.
      type: str
plan:
  description:
    - The role's desired state, computed once on the controller from its typed variables, this view and the look at
      the host (C(plugins/plugin_utils/_plan_ROLE.py)); the role's tasks only apply it. Its keys are internal to the role.
    - V(nix_builder) - C(settings), C(key_lines), C(authorized_keys), C(max_startups), C(sshd_dropin),
      C(nixos_definitions), C(nixos_rebuild). V(nix_cache_server) - the same, and C(secret), C(site), C(gc),
      C(gc_script), C(htpasswd). V(nix_client) - C(settings), C(machines), C(ssh_config), C(netrc) (whether there
      are credentials; never them), C(nixos_definitions), C(nixos_rebuild).
    - Variables that do not fit together (the legacy protocol for an untrusted build user, a cache port out of range,
      a key name used twice, an HTTP account without a password) fail the task naming the variable, before any change.
  returned: role nix_builder, nix_cache_server or nix_client with O(view=main)
  type: dict
differs:
  description:
    - Which of the role's steps still have something to do, from the host's state as the same shell command read it
      (sha256, owner, group and mode of each file the role writes, its include line, the build user, whether the build
      user or root's daemon reaches the stores), compared with RV(plan) on the controller. The role runs a step's module
      only when its entry is true; C(any) is true when one is. Every entry is true on NixOS and wherever the command
      could not tell.
    - V(nix_client) also has C(reach), true when a builder or SSH cache did not answer the same command as root's daemon
      reaches it (the role's preflight then says why).
    - V(nix_install) has C(settings) (C(nix_install_settings) not yet in nix.conf, as nix_conf would apply them to the file
      as it is) and C(reach) (root or a daemon user does not reach the daemon).
    - With O(view=keys) (V(nix_client)), C(ssh_dir), C(ssh_key), C(signing) and C(descriptor) of the entry point C(keys).
  returned: role nix_builder, nix_client or nix_install with O(view=main); nix_client with O(view=keys)
  type: dict
  sample: {"any": false, "authorized_keys": false, "settings": false, "descriptor": false}
signing_public_key:
  description: The client's signing public key when its key pair holds (for the descriptor when the key's task is skipped).
  returned: role nix_client with O(view=keys)
  type: str
  sample: client1-1:U2lnbmluZ0tleU9mQ2xpZW50MQ==
daemon:
  description: Where C(nix-daemon) is on the host (the keys' forced commands name it), empty without Nix.
  returned: role nix_builder or nix_cache_server with O(view=main)
  type: str
  sample: /usr/bin/nix-daemon
nix_path:
  description: The C(PATH) the roles' shell commands use on the host (Nix's tools first). Spelled only in C(module_utils/_nix_cmd.py).
  returned: with O(view=main)
  type: str
'''
