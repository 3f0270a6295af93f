# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Nix signing keys (`NAME:BASE64` Ed25519 keys) and the private-file writer that stores them."""

import base64
import binascii
import os
import re
import tempfile

# Private module_utils: no public API promise.

NAME_RE = re.compile(r'^[A-Za-z0-9._-]+$')
SECRET_BYTES = 64  # libsodium's Ed25519 secret key: seed and public key
PUBLIC_BYTES = 32


class SigningKeyError(Exception):
    pass


def check_name(name):
    if not NAME_RE.match(name or ''):
        raise SigningKeyError('key name %r must be non-empty and use only letters, digits, ".", "_" and "-" '
                              '(for example cache.example.org-1)' % (name,))


def parse_key(text, size):
    """(name, base64 data) of a key of `size` bytes. Messages never quote the text: it may be a secret."""
    name, sep, data = (text or '').strip().partition(':')
    if not sep or not NAME_RE.match(name):
        raise SigningKeyError('not in the form NAME:BASE64')
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError('the part after "%s:" is not base64' % name)
    if len(raw) != size:
        raise SigningKeyError('key %s is %d bytes long, not %d' % (name, len(raw), size))
    return name, data


def write_file(path, data, mode, uid=-1, gid=-1, exclusive=False):
    """Replace `path` by a rename from a temporary file in the same directory that has its mode and
    owner before any content is written, so the content is never readable by anyone else, even briefly.
    (atomic_move gives files it creates the umask's mode, which would expose a secret.)

    exclusive: only create `path` (a hard link, which fails when it exists) and return False when another
    writer got there first, so that two runs creating the same key at once agree on one key."""
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            os.fchmod(fd, mode)
            os.fchown(fd, uid, gid)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.rename(tmp, path)
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
