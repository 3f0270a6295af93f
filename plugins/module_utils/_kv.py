# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``key=value`` lines that the shell-only action plugins' commands print (nixos_secrets,
nixos_gcroots). nixos_switch and nixos_reboot use plugin_utils/_switch_plan.parse_kv, which also
collects repeated keys into lists."""

from __future__ import annotations


def parse_kv(text):
    """``key=value`` lines into a dict; a key seen again keeps its last value; other lines are skipped.
    str.splitlines also splits the \\r\\n a remote terminal sends."""
    out = {}
    for line in (text or '').splitlines():
        key, sep, value = line.partition('=')
        if sep and key:
            out[key] = value
    return out
