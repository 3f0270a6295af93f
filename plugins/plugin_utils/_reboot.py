# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_reboot's shell (POSIX, no Python on the target) and decisions (no I/O here).

A boot is identified by the kernel's boot_id together with PID 1's start time. The kernel's
boot_id alone does not change when a container restarts (it is the host kernel's), and PID 1's
start time alone does not change between two boots of a real machine that reach PID 1 at the same
clock tick; the pair changes in both cases."""

from __future__ import annotations

import shlex

from ansible_collections.nixkit.nix.plugins.plugin_utils._switch_plan import STORE_PATH_RE, parse_kv

UNIT_PREFIX = 'nixkit-reboot-'
PATH = '/run/current-system/sw/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# `sed` drops "PID (comm) " (comm may hold spaces), so field 22 of /proc/1/stat (starttime) is the 20th.
_PROBE = r'''PATH=%s; export PATH
printf 'boot=%%s:%%s\n' "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)" "$(sed 's/^.*) //' /proc/1/stat | cut -d' ' -f20)"
[ -e /run/current-system ] && printf 'current_system=%%s\n' "$(readlink -f /run/current-system)"
[ -e /run/booted-system ] && printf 'booted_system=%%s\n' "$(readlink -f /run/booted-system)"
[ -e /nix/var/nix/profiles/system ] && printf 'profile_system=%%s\n' "$(readlink -f /nix/var/nix/profiles/system)"
command -v systemd-run >/dev/null 2>&1 && echo systemd_run=yes
[ -d /run/systemd/system ] && echo systemd=yes
printf 'uid=%%s\n' "$(id -u)"
true''' % PATH


def probe():
    """Read-only: this boot's identity, the running, booted and default systems, the tools."""
    return _PROBE


def launch(unit, delay):
    """Reboot `delay` seconds from now in a transient timer, so this command returns before the
    shutdown closes the connection (a plain `systemctl reboot` may be cut off mid-answer)."""
    return ('PATH=%s; export PATH\nsystemd-run --quiet --collect --unit %s --on-active=%d '
            '--description "nixkit.nix nixos_reboot" systemctl reboot' % (PATH, shlex.quote(unit), delay))


def settled(timeout):
    """After the boot: wait (bounded) until systemd has finished starting units, then probe."""
    return ('PATH=%s; export PATH\nprintf "system_state=%%s\\n" "$(timeout %d systemctl is-system-running --wait 2>/dev/null)"\n'
            % (PATH, timeout)) + _PROBE


def preflight(before, expect_system):
    """Errors that stop the task before it reboots anything, from the probe before the reboot."""
    errors = []
    if before.get('uid') != '0':
        errors.append('nixos_reboot needs root on the target (become: true); it runs as uid %s' % before.get('uid', '?'))
    if before.get('systemd') != 'yes' or before.get('systemd_run') != 'yes':
        errors.append('the target has no running systemd with systemd-run; nixos_reboot reboots through a systemd timer')
    if not before.get('boot', '').strip(':'):
        errors.append('the target did not report a boot identity (/proc/sys/kernel/random/boot_id, /proc/1/stat)')
    if expect_system and not STORE_PATH_RE.match(expect_system):
        errors.append('expect_system must be a store path (/nix/store/HASH-NAME), got %r' % expect_system)
    return errors


def came_back(before, after):
    """True when `after` (a probe that answered) comes from a new boot."""
    return bool(after.get('boot')) and after.get('boot') != before.get('boot')


def verdict(after, expect_system):
    """(failed, message) once the target is back: it must run `expect_system` when one is given."""
    running = after.get('current_system') or None
    if expect_system and running != expect_system:
        return True, ('the target came back running %s, not the expected system %s (the boot loader chose another '
                      'generation, or the boot activation failed)' % (running or 'no /run/current-system', expect_system))
    return False, 'the target rebooted and came back running %s' % (running or 'no /run/current-system')


def parse(text):
    return parse_kv(text or '')
