# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role variables are used as the types their argument specs declare, whatever the source.

INI inventories, ``-e key=value`` and AWX surveys give strings. The roles type them once
(nixkit.nix.estate -> plugin_utils/_role_args.py) and use the typed copy, ``__ROLE.args.NAME``."""

import os
import re

import pytest
import yaml

from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_args as role_args

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
TYPED = ('bool', 'int', 'list', 'dict', 'raw')
# What each type looks like when it arrives as a string, and what it must become.
AS_STRING = {'bool': ('true', True), 'int': ('3', 3), 'list': ('a,b', ['a', 'b']), 'dict': ('{"a": 1}', {'a': 1})}


def typed_options():
    for role in role_args.ROLES:
        for name, spec in sorted(role_args.spec(role).items()):
            if spec.get('type') in TYPED:
                yield role, name, spec


@pytest.mark.parametrize('role, name, spec', list(typed_options()), ids=lambda v: v if isinstance(v, str) else '')
def test_every_typed_variable_is_converted_from_a_string(role, name, spec):
    kind = spec['type']
    if kind == 'raw':
        pytest.skip('raw keeps what it is given (documented per variable)')
    text, expected = AS_STRING[kind]
    if spec.get('elements') == 'dict':
        # A survey or INI line gives each entry as JSON text.
        text, expected = ['{"name": "x"}'], [{'name': 'x'}]
    elif spec.get('choices'):
        text, expected = spec['choices'][0], [spec['choices'][0]]
    typed = role_args.typed(role, {name: text})
    assert typed[name] == expected
    if not spec.get('no_log'):
        assert role_args.public(role, typed)[name[len(role) + 1:]] == expected


@pytest.mark.parametrize('role, name, value', [
    ('nixos_deploy', 'nixos_deploy_health_retries', 'five'),
    ('nix_cache_server', 'nix_cache_server_http', 'maybe'),
    ('nix_builder', 'nix_builder_speed_factor', '1.5x'),
])
def test_a_value_that_cannot_be_converted_names_the_variable(role, name, value):
    with pytest.raises(role_args.RoleArgsError, match=name):
        role_args.typed(role, {name: value})


def test_secrets_stay_out_of_the_typed_copy():
    typed = role_args.typed('nix_client', {'nix_client_netrc': [{'machine': 'm', 'login': 'l', 'password': 'p'}]})
    assert 'netrc' not in role_args.public('nix_client', typed)


def _jinja_and_conditions(text):
    """The parts of a task file that Jinja evaluates: {{ }}, {% %} and bare conditions."""
    parts = re.findall(r'\{\{.*?\}\}|\{%.*?%\}', text, flags=re.S)
    parts += re.findall(r'^\s*(?:-\s+)?(?:when|failed_when|changed_when|until):\s*([^>|\s].*)$', text, flags=re.M)
    parts += re.findall(r'^\s*that:\s*\n((?:\s+-\s+.*\n)+)', text, flags=re.M)
    return parts


@pytest.mark.parametrize('role', role_args.ROLES)
def test_roles_use_only_the_typed_copy(role):
    names = [n for n, s in role_args.spec(role).items() if s.get('type') in TYPED and not s.get('no_log')]
    raw = re.compile(r'(?<![\w.])(%s)\b' % '|'.join(sorted(names, key=len, reverse=True)))
    found = []
    for folder in ('tasks', 'templates', 'handlers'):
        path = os.path.join(ROOT, 'roles', role, folder)
        for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
            with open(os.path.join(path, name)) as handle:
                text = handle.read()
            # Reading the raw value is the estate step's job (and the descriptor reads' loop).
            if name == 'estate.yml':
                continue
            for part in _jinja_and_conditions(text):
                found += ['%s/%s: %s' % (folder, name, m) for m in raw.findall(part)]
    assert found == [], 'use __%s.args.NAME instead of the raw variable' % role


def test_every_tasks_from_is_a_declared_entry_point():
    used = set()
    for folder, _dirs, files in os.walk(ROOT):
        if '/.' in folder or '/.build' in folder or 'collections' in folder:
            continue
        for name in files:
            if name.endswith('.yml'):
                with open(os.path.join(folder, name)) as handle:
                    text = handle.read()
                for role, entry in re.findall(r'name: nixkit\.nix\.(\w+)\n\s+tasks_from: (\w+)', text):
                    used.add((role, entry))
    assert used, 'the scan found the include_role calls'
    for role, entry in sorted(used):
        with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
            specs = yaml.safe_load(handle)['argument_specs']
        assert entry in specs, '%s: tasks_from %s is not a declared entry point' % (role, entry)
