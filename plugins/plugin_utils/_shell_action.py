# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of the action plugins that run only POSIX shell commands on the target, because a stock
NixOS host has no Python: estate, nixos_switch, nixos_secrets, nixos_reboot, nixos_gcroots."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ShellAction(ActionBase):
    """ActionBase's own defaults already allow check mode and refuse async (it checks them in run(),
    so setting them afterwards, as these plugins once did, changed nothing)."""

    TRANSFERS_FILES = False
    _requires_connection = True

    def _start(self, tmp, task_vars, argument_spec, **spec_options):
        """ActionBase's checks, then the task's arguments validated against `argument_spec`."""
        super(ShellAction, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=argument_spec, **spec_options)
        return args

    def _run(self, script, data=None):
        """One shell command on the target with the task's become settings; `data` goes to its stdin.
        ActionBase appends ' ; sleep 0' to every command: a script must not end with a newline."""
        return self._low_level_execute_command(script.rstrip('\n'), sudoable=True, in_data=data)
