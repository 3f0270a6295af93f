# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Garbage collector roots of deployed systems on a build host (nixos_gcroots): one target's
current system and its N previous ones, as links in a directory under /nix/var/nix/gcroots.
The action plugin reads and writes them with two shell commands (no module run on the build host:
the role runs this once per target and deploy); the plan is pure Python here.

Layout in DIR (hostnames never start with a dot, so the two hidden directories cannot collide):
  DIR/NAME               the system NAME runs after its last deployment (earlier versions' only link)
  DIR/.history/NAME/1..N the systems it ran before, newest first
  DIR/.building/NAME     a system being deployed, kept from the build until the deployment ends"""

from __future__ import annotations

import os
import re
import shlex

from ansible_collections.nixkit.nix.plugins.module_utils._kv import parse_kv

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


def check_dir(directory, base):
    """``directory`` (no trailing slash) must lie under ``base``: Nix follows no roots elsewhere."""
    if not (directory + '/').startswith(base) or '/../' in directory + '/':
        raise GcrootsError('dir must be a directory under %s (Nix follows no roots elsewhere), got %r'
                           % (base.rstrip('/'), directory))


def check_keep(keep):
    if keep < 0:
        raise GcrootsError('keep must be 0 or more, got %d' % keep)


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
    check_keep(keep)
    chain = list(history)
    if running and running != current:
        chain.insert(0, current)
        current = running
    out = []
    for path in chain:
        if path and path != current and path not in out:
            out.append(path)
    return current, out[:keep]


def probe_script(directory, name, running=None):
    """One shell command that prints what the links say: ``current=``, ``building=``, ``history_N=`` for
    every numbered entry (empty when it is not a link), and ``running=present|absent`` when ``running``
    is given (a root to a path this store lacks would keep nothing)."""
    p = paths(directory, name)
    lines = [
        'r() { if [ -L "$1" ]; then readlink "$1"; fi; }',
        'printf "current=%%s\\n" "$(r %s)"' % shlex.quote(p['current']),
        'printf "building=%%s\\n" "$(r %s)"' % shlex.quote(p['building']),
        'for e in %s/*; do n=${e##*/}; case $n in ""|*[!0-9]*) continue;; esac; '
        'printf "history_%%s=%%s\\n" "$n" "$(r "$e")"; done' % shlex.quote(p['history']),
    ]
    if running:
        lines.append('if [ -e %s ]; then echo running=present; else echo running=absent; fi' % shlex.quote(running))
    return '\n'.join(lines)


def parse_probe(text):
    """(current, history newest first, building, {number: link target or '' for each history entry},
    whether ``running`` is in the store or None)."""
    values = parse_kv(text)
    numbered = dict((int(key[len('history_'):]), value) for key, value in values.items()
                    if key.startswith('history_') and key[len('history_'):].isdigit())
    history = [numbered[n] for n in sorted(numbered) if numbered[n]]
    running = {'present': True, 'absent': False}.get(values.get('running'))
    return values.get('current') or None, history, values.get('building') or None, numbered, running


def apply_script(directory, name, old, new, drop_building):
    """The shell that turns the links from ``old`` (current, history entries as parse_probe gives them)
    into ``new`` (current, history newest first): each link replaced atomically (a new link renamed
    over the old one; ``mv -T``, because the old link points at a directory, which plain ``mv`` would
    move the new link into), higher history numbers removed. Prints done=yes."""
    p = paths(directory, name)
    q = shlex.quote
    (old_current, entries), (current, history) = old, new
    lines = ['set -e', 'umask 022',
             'link() { mkdir -p "${2%/*}"; rm -f "$2.nixkit-tmp"; ln -s "$1" "$2.nixkit-tmp"; mv -fT "$2.nixkit-tmp" "$2"; }']
    if current and current != old_current:
        lines.append('link %s %s' % (q(current), q(p['current'])))
    for index, target in enumerate(history, 1):
        if entries.get(index) != target:
            lines.append('link %s %s' % (q(target), q(os.path.join(p['history'], str(index)))))
    lines.extend('rm -f %s' % q(os.path.join(p['history'], str(n))) for n in sorted(entries) if n > len(history))
    if drop_building:
        lines.append('rm -f %s' % q(p['building']))
    lines.append('echo done=yes')
    return '\n'.join(lines)
