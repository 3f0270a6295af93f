# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Store paths and the output of `nix path-info --json`, which changed shape across Nix versions
(see tests/unit/plugins/module_utils/test_path_info.py for samples captured from Nix 2.8.0 and 2.26.3):

- Nix 2.19 and later: an object keyed by store path; a path the store does not hold maps to `null`.
- Before 2.19: a list of objects with a `path` key; a path the store does not hold is
  `{"path": ..., "valid": false}`, and `signatures` is left out when there are none.

Either way `nix path-info --json` exits 0 for a path that is not in the store; with `--recursive`
it exits 1 with "path '...' is not valid" instead (see not_valid_paths)."""

import json
import re

# Private module_utils: no public API promise.

STORE_DIR = '/nix/store'
STORE_PATH_RE = re.compile(r'^/nix/store/[0-9a-z]{32}-[^/]+$')
_NOT_VALID_RE = re.compile(r"path '(/[^']+)' is not valid")


class PathInfoError(Exception):
    pass


def check_store_path(path):
    """Raise PathInfoError naming `path` unless it is a top-level store path."""
    if not isinstance(path, str) or not STORE_PATH_RE.match(path):
        raise PathInfoError('%r is not a store path: expected %s/ followed by a 32-character hash, "-" and a '
                            'name, with nothing after it (not a file inside a store path)' % (path, STORE_DIR))


def _absolute(path, store_dir):
    """Store paths as full paths, should a Nix version give base names."""
    return path if path.startswith('/') else '%s/%s' % (store_dir, path)


def parse_path_info(text, store_dir=STORE_DIR):
    """{path: {'valid', 'signatures', 'narSize', 'references'}} from `nix path-info --json` output
    (either shape). Paths the store does not hold are valid=False with no signatures or references."""
    lines = [line for line in (text or '').splitlines() if line.strip()]
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise PathInfoError('nix path-info --json printed no JSON: %r' % (text or '')[:200])
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list) and all(isinstance(entry, dict) for entry in data):
        items = [(entry.get('path'), entry) for entry in data]
    else:
        raise PathInfoError('nix path-info --json printed neither an object nor a list of objects')
    result = {}
    for path, info in items:
        if not isinstance(path, str) or not path:
            raise PathInfoError('nix path-info --json printed an entry without a store path')
        if info is not None and not isinstance(info, dict):
            raise PathInfoError('nix path-info --json printed %r for %s' % (info, path))
        if info is None or info.get('valid', True) is False:
            entry = dict(valid=False, signatures=[], narSize=None, references=[])
        else:
            entry = dict(valid=True, signatures=list(info.get('signatures') or []), narSize=info.get('narSize'),
                         references=[_absolute(ref, store_dir) for ref in info.get('references') or []])
        result[_absolute(path, store_dir)] = entry
    return result


def invalid_paths(info):
    """The paths of parse_path_info's result that the store does not hold, sorted."""
    return sorted(path for path, entry in info.items() if not entry['valid'])


def has_signature(entry, key_name):
    """Whether a parse_path_info entry carries a signature by the key called `key_name` (`NAME:BASE64`)."""
    return any(sig.partition(':')[0] == key_name for sig in entry['signatures'])


def not_valid_paths(stderr):
    """The paths a failed Nix command says are not valid (not in the store), in order, without repeats."""
    found = []
    for path in _NOT_VALID_RE.findall(stderr or ''):
        if path not in found:
            found.append(path)
    return found
