# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module tests run as on a host whose Nix knows the usual settings.

nix_conf asks the host's Nix which setting names exist (and warns when there is no Nix); a test must
not depend on whether the machine running it has Nix. test_nix_conf_refusals.py puts the real query
back to test it with a stand-in run_command.
"""

import pytest


@pytest.fixture(autouse=True)
def nix_knows_the_usual_settings(monkeypatch):
    # Imported here, not at the top: pytest loads this file before pytest-ansible sets up the
    # collection loader when it is given a path in this directory.
    from ansible_collections.nixkit.nix.plugins.module_utils._nix_conf import known_settings
    from ansible_collections.nixkit.nix.plugins.modules import nix_conf
    from ansible_collections.nixkit.nix.tests.unit.plugins.modules.nix_config_sample import CONFIG_SHOW_JSON

    known = known_settings(CONFIG_SHOW_JSON)
    monkeypatch.setattr(nix_conf, 'nix_known_settings', lambda module: known)
