# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a descriptor (/etc/nix/nixkit-KIND.json, public facts a host publishes) is written: one rendering for the
descriptor module that writes it and the plans that predict it."""

import json

# Private module_utils: no public API promise.


def render(content):
    return json.dumps(content, indent=2, sort_keys=True) + '\n'
