# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The NixOS options the collection's generated modules may define, with their types.

Recorded from nixpkgs (master of 2026): nixos/modules/config/nix-remote-build.nix (nix.buildMachines,
nix.distributedBuilds), nixos/modules/services/misc/nix-ssh-serve.nix (nix.sshServe; `trusted` is newer
than the rest: only set when asked), nixos/modules/config/nix.nix (nix.settings, freeform: any setting
name, values bool, int, str or a list of them), nixos/modules/config/users-groups.nix (users.users.NAME,
users.groups.NAME), nixos/modules/programs/ssh.nix (programs.ssh.extraConfig, programs.ssh.knownHosts),
nixos/modules/services/web-servers/nginx/default.nix and vhost-options.nix / location-options.nix
(services.nginx), nixos/modules/system/boot/systemd.nix (systemd.services.NAME, systemd.timers.NAME)
networking.firewall and nixos/modules/services/networking/ssh/sshd.nix (services.openssh.settings.MaxStartups).
A generated module that defines anything outside this list is refused before it
is written, so a typo cannot reach a host's rebuild.

Types: BOOL, INT, STR, LINES (a str merged by concatenation), ListOf(t), Enum(values), NullOr(t),
Submodule({key: type}) with dotted keys for nested attributes, Freeform(t) (an attrset of any names),
and NIX_SETTING (what nix.settings accepts per setting).
"""

import re

# Private module_utils: no public API promise.


class Type(object):
    name = 'value'

    def problem(self, value):
        """None when value fits, else a short phrase saying what was expected."""
        raise NotImplementedError


class _Simple(Type):
    def __init__(self, name, check):
        self.name = name
        self._check = check

    def problem(self, value):
        return None if self._check(value) else 'a %s' % self.name


BOOL = _Simple('boolean', lambda v: isinstance(v, bool))
INT = _Simple('signed integer', lambda v: isinstance(v, int) and not isinstance(v, bool))
STR = _Simple('string', lambda v: isinstance(v, str))
LINES = _Simple('strings concatenated with "\\n"', lambda v: isinstance(v, str))
POSITIVE = _Simple('positive integer', lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0)
PORT = _Simple('16 bit unsigned integer', lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 65535)


class ListOf(Type):
    def __init__(self, item):
        self.item = item
        self.name = 'list of %s' % item.name

    def problem(self, value):
        if not isinstance(value, list):
            return 'a %s' % self.name
        for index, item in enumerate(value):
            problem = self.item.problem(item)
            if problem:
                return '%s at index %d' % (problem, index)
        return None


class Enum(Type):
    def __init__(self, *values):
        self.values = values
        self.name = 'one of %s' % ', '.join('"%s"' % v for v in values)

    def problem(self, value):
        return None if value in self.values else self.name


class NullOr(Type):
    def __init__(self, inner):
        self.inner = inner
        self.name = 'null or %s' % inner.name

    def problem(self, value):
        return None if value is None else self.inner.problem(value)


class Submodule(Type):
    """An attribute set with known keys; dotted keys are nested attributes (openssh.authorizedKeys.keys)."""

    def __init__(self, options):
        self.options = options
        self.name = 'submodule'

    def problem(self, value):
        if not isinstance(value, dict):
            return 'an attribute set'
        for key, item in value.items():
            if key not in self.options:
                return 'no option "%s" (known: %s)' % (key, ', '.join(sorted(self.options)))
            problem = self.options[key].problem(item)
            if problem:
                return '%s: %s' % (key, problem)
        return None


class Freeform(Type):
    def __init__(self, item, key_re=r'^[A-Za-z0-9_][A-Za-z0-9_.:-]*$'):
        self.item = item
        self.key_re = re.compile(key_re)
        self.name = 'attribute set of %s' % item.name

    def problem(self, value):
        if not isinstance(value, dict):
            return 'an %s' % self.name
        for key, item in value.items():
            if not isinstance(key, str) or not self.key_re.match(key):
                return 'no such name "%s"' % key
            problem = self.item.problem(item)
            if problem:
                return '%s: %s' % (key, problem)
        return None


class _Either(Type):
    def __init__(self, *types):
        self.types = types
        self.name = ' or '.join(t.name for t in types)

    def problem(self, value):
        if any(t.problem(value) is None for t in self.types):
            return None
        return 'a %s' % self.name


_ATOM = _Either(BOOL, INT, STR)
# nix.nix: `confAtom = nullOr (oneOf [bool int float str path package])`, settings are atoms or lists.
NIX_SETTING = _Either(BOOL, INT, STR, ListOf(_ATOM))
# attrsOf (either of the atoms the systemd/nginx modules render): serviceConfig, timerConfig.
UNIT_SECTION = Freeform(_Either(BOOL, INT, STR, ListOf(STR)), key_re=r'^[A-Za-z][A-Za-z0-9]*$')

BUILD_MACHINE = Submodule({
    'hostName': STR,
    'protocol': Enum(None, 'ssh', 'ssh-ng'),
    'system': NullOr(STR),
    'systems': ListOf(STR),
    'sshUser': NullOr(STR),
    'sshKey': NullOr(STR),
    'maxJobs': INT,
    'speedFactor': POSITIVE,
    'mandatoryFeatures': ListOf(STR),
    'supportedFeatures': ListOf(STR),
    'publicHostKey': NullOr(STR),
})

USER = Submodule({
    'isSystemUser': BOOL,
    'isNormalUser': BOOL,
    'group': STR,
    'extraGroups': ListOf(STR),
    'home': STR,
    'createHome': BOOL,
    'useDefaultShell': BOOL,
    'description': STR,
    'openssh.authorizedKeys.keys': ListOf(STR),
})

LOCATION = Submodule({
    'root': NullOr(STR),
    'alias': NullOr(STR),
    'index': NullOr(STR),
    'tryFiles': NullOr(STR),
    'basicAuthFile': NullOr(STR),
    'extraConfig': LINES,
})

VIRTUAL_HOST = Submodule({
    'listen': ListOf(Submodule({'addr': STR, 'port': NullOr(PORT), 'ssl': BOOL})),
    'default': BOOL,
    'root': NullOr(STR),
    'basicAuthFile': NullOr(STR),
    'locations': Freeform(LOCATION, key_re=r'^[^\n"]+$'),
    'extraConfig': LINES,
})

SERVICE = Submodule({
    'description': STR,
    'path': ListOf(STR),
    'script': LINES,
    'serviceConfig': UNIT_SECTION,
    'startAt': ListOf(STR),
    'wantedBy': ListOf(STR),
    'after': ListOf(STR),
    'wants': ListOf(STR),
})

TIMER = Submodule({
    'description': STR,
    'wantedBy': ListOf(STR),
    'timerConfig': UNIT_SECTION,
})

KNOWN_HOST = Submodule({
    'hostNames': ListOf(STR),
    'publicKey': NullOr(STR),
})

# Option path -> type. "<name>" stands for an attribute name chosen by the module (a user, a unit).
OPTIONS = {
    'nix.buildMachines': ListOf(BUILD_MACHINE),
    'nix.distributedBuilds': BOOL,
    'nix.settings': Freeform(NIX_SETTING, key_re=r'^[a-z][a-z0-9-]*$'),
    'nix.sshServe.enable': BOOL,
    'nix.sshServe.keys': ListOf(STR),
    'nix.sshServe.protocol': Enum('ssh', 'ssh-ng'),
    'nix.sshServe.write': BOOL,
    'nix.sshServe.trusted': BOOL,
    'users.users.<name>': USER,
    'users.groups.<name>': Submodule({}),
    'programs.ssh.extraConfig': LINES,
    'programs.ssh.knownHosts.<name>': KNOWN_HOST,
    'services.nginx.enable': BOOL,
    'services.nginx.virtualHosts.<name>': VIRTUAL_HOST,
    'systemd.services.<name>': SERVICE,
    'systemd.timers.<name>': TIMER,
    'networking.firewall.allowedTCPPorts': ListOf(PORT),
    # services.openssh.settings is freeform (sshd_config keywords, rendered before extraConfig and its
    # Match blocks); MaxStartups is one of its strings, "start:rate:full".
    'services.openssh.settings.MaxStartups': STR,
}

NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$')


def lookup(option):
    """(type, attribute path) of the recorded option `option` names, or (None, None).

    The attribute path is the list of attribute names: a chosen name ("<name>") is one attribute even
    when it holds dots (a host name), and is quoted when rendered.
    """
    if option in OPTIONS:
        return OPTIONS[option], option.split('.')
    for pattern, option_type in OPTIONS.items():
        if not pattern.endswith('.<name>'):
            continue
        prefix = pattern[:-len('<name>')]
        name = option[len(prefix):] if option.startswith(prefix) else ''
        if name and NAME_RE.match(name):
            return option_type, prefix[:-1].split('.') + [name]
    return None, None
