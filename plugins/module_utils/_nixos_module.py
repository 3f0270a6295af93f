# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Render a NixOS module from option definitions, checked against the recorded options.

Only values are rendered, never Nix paths: a file named in a definition (a secret key, a netrc, a
password file) stays a string, so Nix never copies it into the world-readable store.
"""

import re

from ansible_collections.nixkit.nix.plugins.module_utils import _nixos_options as options

# Private module_utils: no public API promise.

# The files the roles write into the module directory; default.nix imports those present.
ROLE_FILES = ('nix-builder.nix', 'nix-cache-server.nix', 'nix-client.nix')
MODULE_NAME_RE = re.compile(r'^nix-(builder|cache-server|client)\.nix$')

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_'-]*$")
KEYWORDS = frozenset(('if', 'then', 'else', 'assert', 'with', 'let', 'in', 'rec', 'inherit', 'or'))

INDEX = '''# Managed by nixkit.nix: imports the modules its roles wrote into this directory.
# Import the directory once from the host's configuration: imports = [ ./nixkit ];
{ ... }:
{
  imports = builtins.filter builtins.pathExists [ %s ];
}
''' % ' '.join('./' + name for name in ROLE_FILES)


# A scalar Nix setting the host's own configuration also sets would be a conflict at rebuild: ours
# are defaults there (lib.mkDefault), above NixOS's option defaults. Lists merge with the host's.
SOFT_OPTIONS = ('nix.settings', 'services.openssh.settings.MaxStartups')


class NixosModuleError(ValueError):
    pass


def string(value):
    """A Nix string literal; "${" must not start an interpolation."""
    escaped = (value.replace('\\', '\\\\').replace('"', '\\"').replace('${', '\\${')
               .replace('\n', '\\n').replace('\r', '\\r').replace('\t', '\\t'))
    return '"%s"' % escaped


def attr_name(name):
    return name if IDENTIFIER_RE.match(name) and name not in KEYWORDS else string(name)


def attr_path(names):
    return '.'.join(attr_name(name) for name in names)


def value(data, option_type=None, indent='', soft=False):
    """Nix text of `data`; the option type says whether dict keys are attribute paths (submodules).

    soft: scalars inside are written with lib.mkDefault (see SOFT_OPTIONS)."""
    inner = indent + '  '
    if soft and isinstance(data, (bool, int, str)):
        return 'lib.mkDefault %s' % value(data)
    if data is None:
        return 'null'
    if isinstance(data, bool):
        return 'true' if data else 'false'
    if isinstance(data, int):
        return str(data)
    if isinstance(data, str):
        return string(data)
    if isinstance(data, list):
        if not data:
            return '[ ]'
        item_type = getattr(option_type, 'item', None)
        return '[\n%s\n%s]' % ('\n'.join(inner + value(item, item_type, inner) for item in data), indent)
    if isinstance(data, dict):
        if not data:
            return '{ }'
        lines = []
        for key in sorted(data):
            if isinstance(option_type, options.Submodule):
                names, key_type = key.split('.'), option_type.options.get(key)
            else:
                names, key_type = [key], getattr(option_type, 'item', None)
            lines.append('%s%s = %s;' % (inner, attr_path(names), value(data[key], key_type, inner, soft)))
        return '{\n%s\n%s}' % ('\n'.join(lines), indent)
    raise NixosModuleError('cannot write a %s as a Nix value' % type(data).__name__)


def check(definitions):
    """[(attribute path, type, value)] of the definitions, or NixosModuleError naming the bad option."""
    if not isinstance(definitions, dict) or not definitions:
        raise NixosModuleError('definitions must be a non-empty mapping of NixOS option names to values')
    checked = []
    for option in sorted(definitions):
        option_type, path = options.lookup(option)
        if option_type is None:
            raise NixosModuleError(
                'the NixOS option %s is not one the collection writes (recorded options: %s)'
                % (option, ', '.join(sorted(options.OPTIONS))))
        problem = option_type.problem(definitions[option])
        if problem:
            raise NixosModuleError('the NixOS option %s must be %s' % (option, problem)
                                   if problem.startswith(('a ', 'an ', 'one of', 'null or'))
                                   else 'the NixOS option %s: %s' % (option, problem))
        checked.append((path, option_type, definitions[option]))
    return checked


def render(definitions, comment):
    """The text of a NixOS module defining `definitions` (checked first)."""
    lines = ['# Managed by nixkit.nix: %s' % comment.replace('\n', ' '),
             '# Edits here are overwritten: set the role\'s variables instead.',
             '{ lib, ... }:',
             '{']
    for path, option_type, data in check(definitions):
        soft = '.'.join(path) in SOFT_OPTIONS
        lines.append('  %s = %s;' % (attr_path(path), value(data, option_type, '  ', soft)))
    lines.append('}')
    return '\n'.join(lines) + '\n'
