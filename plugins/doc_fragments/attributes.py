# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):
    """What every nixkit.nix module documents alike; each module states its own support levels."""

    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check mode and return the changed status it predicts without changing the target.
  diff_mode:
    description: Returns what changed (or would change, in check mode) when in diff mode.
  platform:
    description: Target operating systems it works on.
    support: N/A
    platforms: posix
'''

    FILES = r'''
attributes:
  safe_file_operations:
    description: Writes through a temporary file in the same directory and an atomic rename.
'''

    # Action plugins, which do their work on the controller (with ACTION: nixos_deploy_report; with
    # ACTION and SHELL_ACTION: nixos_switch, nixos_secrets, nixos_reboot, nixos_gcroots).
    ACTION = r'''
attributes:
  action:
    description: Runs on the controller as an action plugin.
    support: full
  async:
    description: Cannot run with C(async).
    support: none
'''

    # Action plugins that run only POSIX shell commands on the target.
    SHELL_ACTION = r'''
attributes:
  become:
    description: Its shell commands use the task's C(become) settings. It needs root on the target.
    support: full
'''
