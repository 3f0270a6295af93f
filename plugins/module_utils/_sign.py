# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signing store paths with a secret key file, for nix_sign and for nix_copy's sign_with (which
signs what it is about to copy in the same module run)."""

import os

from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import run_nix
from ansible_collections.nixkit.nix.plugins.module_utils._signing_key import (
    PUBLIC_BYTES, SECRET_BYTES, SigningKeyError, parse_key,
)

# Private module_utils: no public API promise.

# Paths per `nix store sign` call, far below the kernel's limit on arguments.
CHUNK = 500


def key_name_of(module, key_file, result, option='key_file'):
    """The name of the secret key in key_file; its secret part is masked in all output. Messages never
    quote the file: whatever it holds may be secret."""
    if os.path.isdir(key_file):
        module.fail_json(msg='%s %s is a directory; give the secret key file itself' % (option, key_file), **result)
    try:
        with open(key_file, 'rb') as handle:
            text = to_text(handle.read(), errors='surrogate_or_replace')
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read %s %s: %s' % (option, key_file, to_native(exc.strerror or exc)), **result)
    try:
        name, data = parse_key(text, SECRET_BYTES)
    except SigningKeyError:
        try:
            parse_key(text, PUBLIC_BYTES)
            what = 'a public key'
        except SigningKeyError:
            what = 'not a Nix secret signing key (NAME:BASE64 of 64 bytes)'
        module.fail_json(msg='%s %s holds %s; give the secret key file, as made by nixkit.nix.nix_signing_key '
                             'or nix key generate-secret' % (option, key_file, what), **result)
    module.no_log_values.add(data)
    return name


def sign_paths(module, paths, key_file, store=None, result=None, env=None):
    """`nix store sign` the paths (in `store`, default the local one) with the secret key file."""
    for start in range(0, len(paths), CHUNK):
        rc, dummy, err = run_nix(module, ['store', 'sign', '--key-file', key_file] + (['--store', store] if store else [])
                                 + list(paths[start:start + CHUNK]), environ_update=env)
        if rc != 0:
            module.fail_json(msg='nix store sign failed: %s' % err.strip(), rc=rc, stderr=err, **(result or {}))
