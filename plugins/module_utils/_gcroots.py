# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Garbage collector roots of deployed systems on a build host (nixos_gcroots): one target's
current system and its N previous ones, as links in a directory under /nix/var/nix/gcroots.

Layout in DIR (hostnames never start with a dot, so the two hidden directories cannot collide):
  DIR/NAME               the system NAME runs after its last deployment (earlier versions' only link)
  DIR/.history/NAME/1..N the systems it ran before, newest first
  DIR/.building/NAME     a system being deployed, kept from the build until the deployment ends"""

from __future__ import annotations

import os
import re

STORE_PATH = re.compile(r'^/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*$')
HISTORY = '.history'
BUILDING = '.building'


class GcrootsError(ValueError):
    """Bad input; the message names the option."""


def check_name(name):
    if not name or name.startswith('.') or '/' in name or name in ('.', '..'):
        raise GcrootsError('name must be a target host name (no "/", not starting with "."), got %r' % name)


def check_store_path(value, option):
    if value and not STORE_PATH.match(value):
        raise GcrootsError('%s must be a store path (/nix/store/HASH-NAME), got %r' % (option, value))


def paths(directory, name):
    return {'current': os.path.join(directory, name),
            'history': os.path.join(directory, HISTORY, name),
            'building': os.path.join(directory, BUILDING, name)}


def plan(current, history, running, keep):
    """The roots after a deployment. ``current`` is what DIR/NAME points at (or None), ``history``
    the previous systems newest first, ``running`` what the target runs now (None when unknown:
    the deployment failed before or during the activation, which leaves the target on ``current``).
    Returns (current, history): the new system becomes current and the old one moves to the
    front of the history; duplicates go; the history keeps ``keep`` entries."""
    if keep < 0:
        raise GcrootsError('keep must be 0 or more, got %d' % keep)
    chain = list(history)
    if running and running != current:
        chain.insert(0, current)
        current = running
    out = []
    for path in chain:
        if path and path != current and path not in out:
            out.append(path)
    return current, out[:keep]


def read_link(path):
    try:
        return os.readlink(path) if os.path.islink(path) else None
    except OSError:
        return None


def read(directory, name):
    """(current, history newest first, building) as the links on disk say."""
    p = paths(directory, name)
    history = []
    if os.path.isdir(p['history']):
        numbered = sorted((int(entry), entry) for entry in os.listdir(p['history']) if entry.isdigit())
        for dummy, entry in numbered:
            target = read_link(os.path.join(p['history'], entry))
            if target:
                history.append(target)
    return read_link(p['current']), history, read_link(p['building'])


def set_link(path, target):
    """Point ``path`` at ``target`` atomically (a new link renamed over the old one)."""
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    tmp = '%s.nixkit-tmp' % path
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, path)


def apply(directory, name, current, history):
    """Write the links: DIR/NAME, DIR/.history/NAME/1..len(history); remove higher numbers."""
    p = paths(directory, name)
    if current and read_link(p['current']) != current:
        set_link(p['current'], current)
    for index, target in enumerate(history, 1):
        link = os.path.join(p['history'], str(index))
        if read_link(link) != target:
            set_link(link, target)
    if os.path.isdir(p['history']):
        for entry in os.listdir(p['history']):
            if entry.isdigit() and int(entry) > len(history):
                os.unlink(os.path.join(p['history'], entry))
