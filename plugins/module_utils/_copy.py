# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions and parsing for nix_copy: which store URLs may be a source or a destination, the closure
from `nix path-info --recursive --json`, the missing paths from `nix-store --check-validity
--print-invalid`, and what Nix's refusals mean.

Measured with Nix 2.26.3 in the lab: `nix copy` has no `--dry-run`. `nix path-info --store DST` is
not a safe way to ask a destination what it lacks: for a missing path it asks the destination's
substituters first (5.5 s against an unreachable cache, versus 0.4 s), while `nix-store
--check-validity --print-invalid` asks only whether each path is valid and neither builds nor
substitutes. Neither fetches anything."""

import re

from urllib.parse import unquote, urlparse

from ansible_collections.nixkit.nix.plugins.module_utils._path_info import (
    STORE_PATH_RE, invalid_paths, not_valid_paths,
)

# Private module_utils: no public API promise.

SOURCE_SCHEMES = ('ssh', 'ssh-ng', 'file', 'http', 'https')
DESTINATION_SCHEMES = ('ssh', 'ssh-ng', 'file')
SSH_SCHEMES = ('ssh', 'ssh-ng')
# Causes from _store_errors.classify that still mean something once a store has answered.
CONNECTION_CAUSES = ('host_key_mismatch', 'host_key_unknown', 'key_refused', 'unreachable', 'remote_nix_missing')

SIGNATURE_RE = re.compile(r'[^\n]*lacks a signature by a trusted key[^\n]*')

SIGNATURE_HINT = (
    'The destination accepts only paths signed by a key in its trusted-public-keys. Sign them at the '
    'source with nixkit.nix.nix_sign and trust that key on the destination, or connect as a user in '
    "the destination's trusted-users and set check_sigs=false (an untrusted user cannot skip the check).")


class CopyError(ValueError):
    """Invalid input: the message says which option and how to fix it."""


def store_scheme(store, option):
    """The scheme of a store URL given as `option` (from or to); daemon and local count as schemes.

    Raises CopyError for schemes Nix cannot use that way (http(s) is read-only: a source only)."""
    name = store.split('?', 1)[0]
    if name in ('daemon', 'local', 'auto'):
        return name
    allowed = SOURCE_SCHEMES if option == 'from' else DESTINATION_SCHEMES
    match = re.match(r'([a-z][a-z0-9+.-]*)://', store)
    scheme = match.group(1) if match else None
    if scheme in ('http', 'https') and option == 'to':
        raise CopyError('to=%r: Nix cannot write to an HTTP binary cache; copy to a file:// directory that a web '
                        'server publishes, or to the cache host over ssh:// or ssh-ng://' % store)
    if scheme not in allowed:
        raise CopyError('%s=%r: use daemon, local or a URL starting with %s'
                        % (option, store, ', '.join(s + '://' for s in allowed)))
    parsed = urlparse(store)
    if (parsed.path if scheme == 'file' else parsed.netloc) in ('', '/'):
        raise CopyError('%s=%r names no %s' % (option, store, 'directory' if scheme == 'file' else 'host'))
    return scheme


def file_store_dir(store):
    """The directory of a file:// store URL."""
    return unquote(urlparse(store).path)


def check_paths(paths):
    """Refuse an empty list and anything under /nix/store that is not a store path itself."""
    if not paths:
        raise CopyError('paths is empty: give at least one store path or installable')
    bad = [p for p in paths if not isinstance(p, str) or not p.strip()
           or (p.startswith('/nix/store/') and '^' not in p and not STORE_PATH_RE.match(p))]
    if bad:
        raise CopyError('not store paths: %s. A store path is /nix/store/ followed by a 32-character hash, '
                        'a dash and a name, with nothing after it (give the path, not a file inside it)'
                        % ', '.join(repr(p) for p in bad))


def not_valid(info, stderr=''):
    """The paths `nix path-info` found not valid: its invalid entries, else the path its error names."""
    return invalid_paths(info) or not_valid_paths(stderr)[:1]


def parse_invalid(stdout):
    """The store paths `nix-store --check-validity --print-invalid` printed, one a line."""
    return [line.strip() for line in (stdout or '').splitlines() if line.strip().startswith('/nix/store/')]


def plan(closure, missing):
    """What a copy does: the missing closure paths (sorted), their NAR bytes and how many are present."""
    missing = set(missing) & set(closure)
    return dict(copied=sorted(missing),
                bytes=sum(int((closure[path] or {}).get('narSize') or 0) for path in missing),
                already_present=len(closure) - len(missing))


def landed(closure, attempted, still_missing):
    """After a failed copy: which attempted paths arrived anyway, and their NAR bytes."""
    arrived = set(attempted) - set(still_missing)
    return dict(copied=sorted(arrived), bytes=sum(int((closure.get(path) or {}).get('narSize') or 0) for path in arrived))


def chunks(items, size=1000):
    """`items` in lists of at most `size`, to keep command lines short."""
    items = list(items)
    return [items[i:i + size] for i in range(0, len(items), size)]


def copy_args(source, destination, substitute_on_destination, check_sigs):
    """`nix copy` arguments (the paths come on stdin)."""
    args = ['copy', '--stdin']
    if source:
        args += ['--from', source]
    if destination:
        args += ['--to', destination]
    if substitute_on_destination:
        args.append('--substitute-on-destination')
    if not check_sigs:
        args.append('--no-check-sigs')
    return args


def last_error(stderr):
    """The last line Nix started with "error:" (its final word on a failure), else the last line."""
    lines = [line.strip() for line in (stderr or '').splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith('error:')]
    return (errors or lines or [''])[-1]


def signature_refusal(stderr):
    """Nix's own line when the destination refused an unsigned path, else None."""
    match = SIGNATURE_RE.search(stderr or '')
    return re.sub(r'^error:\s*', '', match.group(0).strip()) if match else None
