#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the action plugin plugins/action/nixos_reboot.py, which does the work
# on the controller and runs shell commands on the target (as ansible.builtin.debug is documented).

DOCUMENTATION = r'''
---
module: nixos_reboot
short_description: Reboot a NixOS host, wait until it is back and say which system it runs; no Python on the target
version_added: 0.1.0
description:
  - Reboots the target and waits until it answers again from a new boot, then until systemd has finished starting units
    (bounded by O(settle_timeout)), and returns the system it runs (C(/run/current-system)).
  - Unlike C(ansible.builtin.reboot), which gathers facts with Python before it reboots, it runs only POSIX shell commands
    on the target, so it works on a stock NixOS host without Python, as M(nixkit.nix.nixos_switch) does.
  - The reboot is scheduled in a transient systemd timer one second ahead, so the command that schedules it returns
    before the shutdown closes the connection.
  - A new boot is told by the kernel's boot ID together with the start time of PID 1. The boot ID alone stays the same
    when a container restarts (it is the host kernel's), so this also works for NixOS containers and the collection's
    podman lab.
  - Every connection attempt after the reboot is a new one (the ssh connection plugin's ControlMaster is reset), made with
    every setting of the inventory (user, port, keys, jump hosts, become).
  - With O(expect_system) the task fails when the target comes back running another system, for example because its
    boot loader chose another generation.
  - M(nixkit.nix.nixos_switch) with O(nixkit.nix.nixos_switch#module:action=boot) sets the system the next boot runs;
    the role C(nixkit.nix.nixos_deploy) chains the two with health checks and a rollback (C(nixos_deploy_reboot)).
author:
  - nixkit maintainers (@nixkit)
attributes:
  check_mode:
    support: full
    details: Reads the target (boot identity, running system, tools) and reports that it would reboot.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
    details: A systemd host with C(systemd-run); NixOS, or a container with systemd as PID 1 that its manager restarts.
extends_documentation_fragment:
  - nixkit.nix.attributes
  - nixkit.nix.attributes.action
  - nixkit.nix.attributes.shell_action
options:
  reboot_timeout:
    description:
      - Seconds to wait for the target to answer from a new boot. When they pass, the task fails with RV(came_back=false),
        naming the last connection error.
    type: int
    default: 600
  settle_timeout:
    description:
      - Once the target answers, at most this many seconds for C(systemctl is-system-running --wait), so that units are
        started before the caller checks them. A system that is still starting or degraded after that does not fail the
        task; its state is in RV(system_state).
    type: int
    default: 120
  expect_system:
    description:
      - The store path the target must run after the reboot, usually what M(nixkit.nix.nixos_switch) registered with
        O(nixkit.nix.nixos_switch#module:action=boot). When it runs another system the task fails (the target is up).
    type: str
notes:
  - A reboot is always a change. In check mode nothing is scheduled.
  - The task fails before scheduling anything when the connection does not have root (C(become)) or the target has no
    running systemd with C(systemd-run).
seealso:
  - module: nixkit.nix.nixos_switch
  - name: ansible.builtin.reboot
    description: Reboots any host that has Python, waits with a configurable boot-time command.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/reboot_module.html
'''

EXAMPLES = r'''
- name: Make the new system the boot default
  nixkit.nix.nixos_switch:
    store_path: "{{ system }}"
    action: boot
  become: true

- name: Reboot into it and check that it runs
  nixkit.nix.nixos_reboot:
    expect_system: "{{ system }}"
    reboot_timeout: 300
  become: true
  register: reboot

- name: Show how long it took
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} was back after {{ reboot.elapsed }} s, running {{ reboot.current_system }}"
'''

RETURN = r'''
rebooted:
  description: A reboot was scheduled on the target (false in check mode and when the task failed before it).
  returned: always
  type: bool
  sample: true
came_back:
  description: The target answered from a new boot in time. Null when no reboot was scheduled.
  returned: always
  type: bool
  sample: true
elapsed:
  description: Seconds from scheduling the reboot until the target answered and had settled. Null without a reboot.
  returned: always
  type: float
  sample: 23.4
previous_system:
  description: The system the target ran before the reboot (C(readlink -f /run/current-system)). Null when none.
  returned: always
  type: str
  sample: /nix/store/9x0l2bbbx1i1kq6f5lm8j4p3kd0y7a2h-nixos-system-web1-26.05
current_system:
  description: The system the target runs after the reboot. Null when it did not come back or has none.
  returned: always
  type: str
  sample: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-26.05
booted_system:
  description: C(readlink -f /run/booted-system) after the reboot, the system the boot loader started. Null when absent.
  returned: always
  type: str
  sample: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-26.05
system_state:
  description: What C(systemctl is-system-running --wait) said after the reboot, for example V(running) or V(degraded).
  returned: always
  type: str
  sample: running
'''
