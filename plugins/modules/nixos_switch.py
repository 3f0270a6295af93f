#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the action plugin plugins/action/nixos_switch.py, which does the work
# on the controller and runs shell commands on the target (as ansible.builtin.debug is documented).

DOCUMENTATION = r'''
---
module: nixos_switch
short_description: Activate a NixOS system closure, detached, locked, with rollback; no Python on the target
version_added: 0.1.0
description:
  - Does what C(nixos-rebuild --target-host) does after the build and the copy. For V(switch) and V(boot) it sets the
    system profile (C(nix-env -p PROFILE --set STORE_PATH)), then runs C(STORE_PATH/bin/switch-to-configuration ACTION).
    V(test) and V(dry-activate) leave the profile alone. V(dry-activate) changes nothing.
  - An action plugin that runs only POSIX shell commands on the target (C(sh), coreutils, C(flock), C(systemd-run),
    C(systemctl), C(nix-env)), so the target needs no Python, as on a stock NixOS host. Turn fact gathering off for such hosts.
  - The work runs on the target as one transient systemd unit named C(nixkit-switch-RANDOM) (C(systemd-run --collect)),
    so a dropped SSH connection cannot kill it. The task polls C(systemctl show) and the unit's record in
    C(/run/nixkit/) until it ends. The unit sets the profile, activates, waits for the confirmation and rolls back on the
    target itself; the controller only watches.
  - Only one switch runs at a time. The unit holds C(flock) on C(/run/nixkit/switch.lock) from start to finish, and the
    task refuses to start while another switch holds it or a C(nixkit-switch-*) unit is active. The refusal names the other
    unit, its action, its store path and its start time.
  - C(switch-to-configuration) exit codes. V(0) is success. V(100) is success with RV(reboot_required=true). V(4) means
    units failed to start and counts as a failure. Any other code is a failure and is reported. An activation that runs
    longer than O(timeout) is killed and counts as a failure (code 124).
  - Failures with O(rollback=true) are rolled back on the target. The profile goes back to the previous generation it
    recorded, the new generation is deleted, and the previous system is activated again with the same action. After a
    V(switch) where the running system and the profile differed, it runs C(boot) for the profile's system and C(test)
    for the running one. The task then fails and names the generation and store path it rolled back to.
  - Magic rollback (O(confirm_timeout) > 0, for V(switch) and V(test)). After a successful activation the unit waits for
    a confirmation. The controller sends it over a fresh SSH connection. The connection plugin is reset, which stops
    OpenSSH's ControlMaster, so the next command logs in anew. If no confirmation arrives within O(confirm_timeout)
    seconds, for example because the activation stopped sshd or broke the network, the target rolls itself back. The
    task then fails and says so.
  - V(rollback) returns the system to an earlier generation, to O(rollback_to) or by default the newest one older than
    the current generation. It activates that generation with C(switch) (or C(boot), see O(rollback_activation)) and
    deletes the generation it leaves when that one is newer. A health check that fails after a successful switch can call it with
    O(rollback_to=previous_generation) from the switch's result. This task succeeds (RV(rolled_back=true)); failing the
    play is the caller's job.
  - C(changed) comes from the target's state, not from any output. V(switch) compares C(readlink -f /run/current-system)
    and the profile with O(store_path), V(test) compares the running system only, V(boot) the profile only. V(dry-activate)
    never reports a change. When nothing would change, nothing runs.
  - In check mode the task reads the target (store path, generations, lock) and reports what it would do. It writes,
    starts and activates nothing.
author:
  - nixkit maintainers (@nixkit)
attributes:
  async:
    description: Cannot run with C(async). It already runs the activation detached on the target.
    support: none
  check_mode:
    support: full
    details: Reads the target and reports C(changed), RV(previous_generation) and the RV(generation) it would create.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
    details: NixOS, or any systemd host whose system closures provide C(bin/switch-to-configuration).
extends_documentation_fragment:
  - nixkit.nix.attributes
  - nixkit.nix.attributes.action
  - nixkit.nix.attributes.shell_action
options:
  store_path:
    description:
      - The system closure to activate, C(/nix/store/) then a 32-character hash, a dash and a name, for example a
        C(nixos-system-HOST-VERSION) toplevel. It must already be on the target, for example copied with M(nixkit.nix.nix_copy).
      - The task fails and names this option when the path is malformed, missing on the target, or has no executable
        C(bin/switch-to-configuration).
      - Required unless O(action=rollback), where it must not be given.
    type: str
  action:
    description:
      - V(switch) sets the profile and activates now and at boot. V(boot) sets the profile and makes it the boot default.
        V(test) activates now without touching the profile. V(dry-activate) reports what would change and changes nothing.
      - V(rollback) returns to an earlier generation of O(profile), see O(rollback_to).
    type: str
    choices: [switch, boot, test, dry-activate, rollback]
    default: switch
  profile:
    description: The system profile whose generations are set, listed and deleted.
    type: str
    default: /nix/var/nix/profiles/system
  timeout:
    description:
      - Seconds each C(switch-to-configuration) run may take (the activation, and each activation of a rollback). After
        that it is killed (C(timeout --kill-after=10)) and counts as failed.
    type: int
    default: 600
  confirm_timeout:
    description:
      - When above 0, for V(switch) and V(test), the target waits this many seconds after the activation for a
        confirmation that comes over a fresh SSH connection, and rolls itself back without one.
      - V(0) means no confirmation is waited for.
    type: int
    default: 0
  rollback:
    description:
      - Roll back on the target when the activation fails or is not confirmed.
      - With V(false) a failed activation leaves the new generation in place and the task fails with the exit code.
    type: bool
    default: true
  rollback_to:
    description:
      - With O(action=rollback), the generation number of O(profile) to return to, usually RV(previous_generation) of
        the switch being undone. It must exist.
      - Omitted, the newest generation older than the current one is used, as C(nix-env --rollback) does.
    type: int
  rollback_activation:
    description:
      - With O(action=rollback), how the generation returned to is activated.
      - V(switch) activates it now (and at boot).
      - V(boot) only makes it the boot default, for a reboot into it with M(nixkit.nix.nixos_reboot); the running system
        is left alone and the result says RV(reboot_required=true). Use it to undo a system that was booted into, whose
        changes (kernel, systemd, switch inhibitors) a live switch cannot undo.
    type: str
    choices: [switch, boot]
    default: switch
  on_inhibited:
    description:
      - What to do when the new system declares switch inhibitors (C(system.switch.inhibitors), NixOS 26.05) and its own
        C(switch-to-configuration check) refuses to replace the running system live (a new systemd or D-Bus broker).
      - V(fail) fails before any change, naming the inhibitors that differ (RV(inhibitors)).
      - V(boot) (with O(action=switch)) registers the new system as the next boot's generation instead and returns
        RV(reboot_required=true); the running system is unchanged until the reboot.
    type: str
    choices: [fail, boot]
    default: fail
  install_bootloader:
    description:
      - Set C(NIXOS_INSTALL_BOOTLOADER=1) for the activation, as C(nixos-rebuild --install-bootloader) does (reinstalls
        the boot loader, not only its entries).
      - The activation always gets C(LOCALE_ARCHIVE) of the running system when it has one, as with nixos-rebuild.
    type: bool
    default: false
notes:
  - The target needs systemd, C(flock) and C(timeout) (util-linux, coreutils), and C(nix-env) for V(switch), V(boot) and
    V(rollback). It looks for C(nix-env) in C(/run/current-system/sw/bin), C(/nix/var/nix/profiles/default/bin),
    C(/usr/bin) and C(/usr/local/bin).
  - The unit's output is returned in RV(log). Its last record stays in C(/run/nixkit/last.result).
  - If the controller loses the target while the unit runs, the task fails. The unit keeps running, and with
    O(confirm_timeout) set it rolls back by itself because no confirmation comes.
  - Health checks are not part of this module. Run them after the switch and call O(action=rollback) when they fail.
seealso:
  - module: nixkit.nix.nix_copy
  - name: nixos-rebuild
    description: The NixOS tool whose last two steps this module performs.
    link: https://nixos.org/manual/nixos/stable/#sec-changing-config
'''

EXAMPLES = r'''
- name: Switch to the new system, rolled back by the target unless we can still log in 60 s later
  nixkit.nix.nixos_switch:
    store_path: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11
    confirm_timeout: 60
  become: true
  register: switched

- name: Health check; on failure go back to the generation the switch replaced
  block:
    - name: The web service answers
      ansible.builtin.uri:
        url: http://web1.example.org/health
  rescue:
    - name: Roll back to the previous generation
      nixkit.nix.nixos_switch:
        action: rollback
        rollback_to: "{{ switched.previous_generation }}"
      become: true
      when: switched is changed
    - name: Fail the deployment
      ansible.builtin.fail:
        msg: "web1 failed its health check and was rolled back to generation {{ switched.previous_generation }}"

- name: Make it the boot default only (activated at the next reboot)
  nixkit.nix.nixos_switch:
    store_path: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11
    action: boot
  become: true

- name: What would the new system restart?
  nixkit.nix.nixos_switch:
    store_path: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11
    action: dry-activate
  become: true
  register: dry
'''

RETURN = r'''
action:
  description: The action taken (O(action)).
  returned: always
  type: str
  sample: switch
store_path:
  description: The system activated, or for O(action=rollback) the store path of the generation returned to.
  returned: always
  type: str
  sample: /nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1-24.11
previous_store_path:
  description:
    - What O(store_path) was compared with. For V(boot) it is the profile's system, for every other action the running
      system (C(/run/current-system)). Null when there was none.
  returned: always
  type: str
  sample: /nix/store/9x0l2bbbx1i1kq6f5lm8j4p3kd0y7a2h-nixos-system-web1-24.11
previous_generation:
  description: The profile's generation before the task. Null when the profile did not exist.
  returned: always
  type: int
  sample: 41
generation:
  description:
    - The profile's generation after the task. After a rollback it is the generation returned to. In check mode it is
      the generation that would be created.
  returned: always
  type: int
  sample: 42
deleted_generation:
  description: The generation removed by a rollback. Null when none was removed.
  returned: when the activation unit ran
  type: int
  sample: 42
exit_code:
  description: The exit code of C(switch-to-configuration). Null when it did not run.
  returned: always
  type: int
  sample: 0
inhibited:
  description: The new system's C(switch-to-configuration check) refused a live switch (switch inhibitors changed).
  returned: when it was refused
  type: bool
inhibitors:
  description: The switch inhibitors whose values differ between the running system and the new one.
  returned: when RV(inhibited)
  type: list
  elements: str
  sample: [systemd]
reboot_required:
  description:
    - C(switch-to-configuration) exited 100, meaning the new system is active or set but needs a reboot; or, with
      O(on_inhibited=boot), the new system was registered for the next boot because its switch inhibitors changed.
  returned: always
  type: bool
  sample: false
rolled_back:
  description: The target returned to the previous generation and system, after a failure or for O(action=rollback).
  returned: always
  type: bool
  sample: false
confirmed:
  description: With O(confirm_timeout), whether the confirmation reached the target in time. Null when none was awaited.
  returned: when the activation unit ran
  type: bool
  sample: true
unit:
  description: The name of the transient systemd unit that did the work.
  returned: when the activation unit ran
  type: str
  sample: nixkit-switch-5f0c9e2a
log:
  description: The output of the unit's commands (C(nix-env), C(switch-to-configuration)), up to the last 200 lines.
  returned: when the activation unit ran
  type: list
  elements: str
  sample: ["nixos_switch: nix-env -p /nix/var/nix/profiles/system --set /nix/store/...-nixos-system-web1-24.11"]
'''
