# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A trimmed `nix config show --json` answer, in the layout of Nix 2.26 (Config::toJSON: one object
per setting with its aliases, value and default; aliases are not keys of their own)."""

import json


def _setting(value, aliases=()):
    return {'aliases': list(aliases), 'defaultValue': value, 'description': '...', 'documentDefault': True,
            'experimentalFeature': None, 'value': value}


SETTINGS = {
    'accept-flake-config': _setting(False),
    'access-tokens': _setting({}),
    'allowed-users': _setting(['*']),
    'auto-optimise-store': _setting(False),
    'build-poll-interval': _setting(5),
    'build-users-group': _setting('nixbld'),
    'builders': _setting('@/etc/nix/machines'),
    'builders-use-substitutes': _setting(False),
    'connect-timeout': _setting(0),
    'cores': _setting(0, ['build-cores']),
    'experimental-features': _setting([]),
    'extra-platforms': _setting(['i686-linux']),
    'fallback': _setting(False),
    'impure-env': _setting({}),
    'keep-derivations': _setting(True, ['gc-keep-derivations']),
    'keep-outputs': _setting(False, ['gc-keep-outputs']),
    'max-jobs': _setting(1, ['build-max-jobs']),
    'max-silent-time': _setting(0, ['build-max-silent-time']),
    'netrc-file': _setting('/etc/nix/netrc'),
    'nix-path': _setting([]),
    'plugin-files': _setting([]),
    'post-build-hook': _setting(''),
    'require-sigs': _setting(True),
    'sandbox': _setting(True, ['build-use-chroot', 'build-use-sandbox']),
    'sandbox-paths': _setting({}, ['build-chroot-dirs', 'build-sandbox-paths']),
    'secret-key-files': _setting([]),
    'store': _setting('auto'),
    'substituters': _setting(['https://cache.nixos.org/'], ['binary-caches']),
    'system': _setting('x86_64-linux'),
    'system-features': _setting(['benchmark', 'big-parallel', 'kvm', 'nixos-test']),
    'timeout': _setting(0, ['build-timeout']),
    'trusted-public-keys': _setting(['cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='],
                                    ['binary-cache-public-keys']),
    'trusted-substituters': _setting([], ['trusted-binary-caches']),
    'trusted-users': _setting(['root']),
}

CONFIG_SHOW_JSON = json.dumps(SETTINGS, indent=2, sort_keys=True)
