# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role variables as the types their argument specs declare, whatever the source.

Ansible validates a role's variables against meta/argument_specs.yml but leaves them as they
came: ``true`` from an INI inventory, ``-e key=value`` or an AWX survey stays the string "true",
and "1" stays a string that breaks arithmetic. Extra vars outrank every fact, so coerced values
cannot replace the originals under the same names: roles use the typed copy this returns
(``__ROLE.args.NAME``, the name without the role prefix)."""

from __future__ import annotations

import os

import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROLES = ('nix_builder', 'nix_cache_server', 'nix_client', 'nix_install', 'nixos_deploy')
ROLES_DIR = os.path.join(os.path.dirname(__file__), '..', '..', 'roles')
# Keys of an argument spec the validator understands (the rest is documentation).
_SPEC_KEYS = ('type', 'elements', 'choices', 'required', 'options', 'no_log', 'aliases')
_cache = {}


class RoleArgsError(ValueError):
    """A role variable that is not of its declared type; the message names the variable."""


def _clean(options):
    out = {}
    for name, spec in (options or {}).items():
        clean = {k: v for k, v in spec.items() if k in _SPEC_KEYS}
        if 'options' in clean:
            clean['options'] = _clean(clean['options'])
        out[name] = clean
    return out


def spec(role, entry_point='main'):
    """The role's option specs (validator keys only), read once per process."""
    key = (role, entry_point)
    if key not in _cache:
        if role not in ROLES:
            raise RoleArgsError('unknown role %r' % role)
        with open(os.path.join(ROLES_DIR, role, 'meta', 'argument_specs.yml')) as handle:
            data = yaml.safe_load(handle)
        _cache[key] = _clean(data['argument_specs'][entry_point].get('options'))
    return _cache[key]


def option_names(role):
    return list(spec(role))


def typed(role, values):
    """Validate and convert ``values`` (name -> value as Ansible templated it) against the spec."""
    options = spec(role)
    result = ArgumentSpecValidator(options).validate(dict(values))
    if result.error_messages:
        messages = sorted(set(result.error_messages))
        raise RoleArgsError('%s: %s. Set %s to a value of the declared type (see ansible-doc -t role nixkit.nix.%s).'
                            % (role, '; '.join(messages), 'these variables' if len(messages) > 1 else 'the variable', role))
    return result.validated_parameters


def public(role, args):
    """The typed values a role's tasks use, by short name; secrets (no_log) left out."""
    options = spec(role)
    prefix = role + '_'
    return {name[len(prefix):]: value for name, value in args.items()
            if name in options and not options[name].get('no_log') and name.startswith(prefix)}
