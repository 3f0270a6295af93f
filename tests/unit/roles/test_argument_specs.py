# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every role's meta/argument_specs.yml documents exactly its defaults, with the same values."""

import os
import re

import pytest
import yaml
from jinja2.nativetypes import NativeEnvironment

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate

ROLES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles')


def role_names():
    return sorted(name for name in os.listdir(ROLES) if os.path.isdir(os.path.join(ROLES, name)))


def load(role, *parts):
    with open(os.path.join(ROLES, role, *parts)) as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize('role', role_names())
def test_specs_and_defaults_agree(role):
    defaults = load(role, 'defaults', 'main.yml')
    options = load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    assert sorted(defaults) == sorted(options)
    for name, value in defaults.items():
        assert name.startswith(role + '_'), 'variables are prefixed with the role name'
        documented = options[name].get('default')
        group = re.match(r"^\{\{ lookup\('nixkit\.nix\.group', '(\w+)'\) \}\}$", str(value))
        if group:
            # The collection's group of that kind: the documented value is its default name.
            assert estate.group_name(group.group(1), {}) == documented, name
        elif isinstance(value, str) and 'lookup(' in value:
            # Found at run time (the directory Ansible started in): the documented value is its last part.
            assert value.endswith('/' + str(documented)), name
        elif isinstance(documented, str) and '{{' in documented:
            # A default of the host's own (its name): documented as written.
            assert documented == value, name
        elif isinstance(value, str) and '{{' in value:
            # A default taken from a collection-wide variable: the documented value is its fallback,
            # what the expression gives when the collection-wide variable is not set.
            assert NativeEnvironment().from_string(value).render() == documented, name
        else:
            assert documented == value, name
