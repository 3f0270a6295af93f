# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets outside the Nix store (nixos_secrets): checking the list, the POSIX shell that probes
and writes on the target (no Python there), and the decisions. Content never appears in a command
line, a result or a message: it reaches the target on the command's stdin only, and the target
compares it there (``cmp``), so not even a hash of it leaves the controller or the target."""

from __future__ import annotations

import posixpath
import re
import shlex

STAGES = ('pre-activation', 'post-activation')
KEYS = ('dest', 'content', 'src', 'owner', 'group', 'mode', 'upload')
STORE = '/nix/store'
# The files this plugin wrote, one path a line, so a secret dropped from the list can be removed.
MANIFEST = '/var/lib/nixkit/secrets.list'
_NAME = re.compile(r'^([a-z_][a-z0-9_.-]*\$?|[0-9]+)$', re.IGNORECASE)
_MODE = re.compile(r'^0?[0-7]{3}$')


class SecretsError(ValueError):
    """A secret that cannot be written; the message names the variable, the item and the fix."""


def in_store(path):
    """True for /nix/store itself and anything below it (after normalisation)."""
    path = posixpath.normpath(path)
    return path == STORE or path.startswith(STORE + '/')


def _mode(value, where):
    # YAML 0600 unquoted arrives as the int 384: read an int as the mode's value, as ansible.builtin.file does.
    if isinstance(value, bool):
        raise SecretsError('%s: mode must be an octal string such as "0600", got %r' % (where, value))
    if isinstance(value, int):
        if not 0 <= value <= 0o777:
            raise SecretsError('%s: mode %r is not a file mode (quote it: "0600")' % (where, value))
        return '0%03o' % value
    text = str(value)
    if not _MODE.match(text):
        raise SecretsError('%s: mode must be an octal string such as "0600" or "0640" (no symbolic modes, no '
                           'setuid/setgid/sticky bits), got %r' % (where, text))
    return '0' + text[-3:]


def check(secrets, variable='secrets'):
    """The list as given -> a list of normalised secrets (dest, owner, group, mode, upload and
    either content or src). Raises SecretsError naming ``variable[i]`` and the fix."""
    if secrets is None:
        return []
    if not isinstance(secrets, (list, tuple)):
        raise SecretsError('%s must be a list of secrets ({dest, content or src, owner, group, mode, upload}), '
                           'got a %s' % (variable, type(secrets).__name__))
    out, seen = [], {}
    for index, item in enumerate(secrets):
        where = '%s[%d]' % (variable, index)
        if not isinstance(item, dict):
            raise SecretsError('%s must be a dict with dest and content or src, got a %s' % (where, type(item).__name__))
        unknown = sorted(set(item) - set(KEYS))
        if unknown:
            raise SecretsError('%s has unknown keys %s; known: %s' % (where, ', '.join(unknown), ', '.join(KEYS)))
        dest = item.get('dest')
        if not isinstance(dest, str) or not dest.startswith('/') or dest.endswith('/'):
            raise SecretsError('%s: dest must be an absolute path to a file, got %r' % (where, dest))
        if any(c in dest for c in '\n\r\0'):
            raise SecretsError('%s: dest must not contain newlines or NUL characters' % where)
        norm = posixpath.normpath(dest)
        if norm.startswith('//'):
            norm = '/' + norm.lstrip('/')
        where = '%s[%d] (dest %s)' % (variable, index, dest)
        if in_store(norm):
            raise SecretsError('%s: a secret must not go into the Nix store, which every user (and every substituter or '
                               'cache that copies it) can read; choose a path outside %s, such as /run/keys/NAME or '
                               '/var/lib/secrets/NAME. Nothing was changed.' % (where, STORE))
        if norm in seen:
            raise SecretsError('%s: the same file as %s[%d]; each dest appears once' % (where, variable, seen[norm]))
        seen[norm] = index
        has_content, has_src = item.get('content') is not None, item.get('src') not in (None, '')
        if has_content == has_src:
            raise SecretsError('%s: give exactly one of content (the secret itself, for example from a vaulted variable) '
                               'and src (a file on the controller, may be vault-encrypted)' % where)
        content = item.get('content')
        if has_content and not isinstance(content, str) and isinstance(getattr(content, 'data', None), str):
            # An inline !vault value that older ansible-core leaves encrypted until asked (AnsibleVaultEncryptedUnicode).
            content = content.data
        if has_content and not isinstance(content, str):
            raise SecretsError('%s: content must be a string' % where)
        if has_src and not isinstance(item['src'], str):
            raise SecretsError('%s: src must be a path on the controller' % where)
        secret = {'dest': norm, 'index': index}
        for key in ('owner', 'group'):
            value = item.get(key)
            value = 'root' if value in (None, '') else str(value)
            if not _NAME.match(value):
                raise SecretsError('%s: %s %r is not a user or group name or a numeric id' % (where, key, value))
            secret[key] = value
        secret['mode'] = _mode(item.get('mode') if item.get('mode') not in (None, '') else '0600', where)
        upload = item.get('upload') or 'pre-activation'
        if upload not in STAGES:
            raise SecretsError('%s: upload must be pre-activation (before switch-to-configuration) or post-activation '
                               '(after it: users and groups the new system creates exist then), got %r' % (where, upload))
        secret['upload'] = upload
        if has_content:
            secret['content'] = content
        else:
            secret['src'] = item['src']
        out.append(secret)
    return out


def check_manifest(path, variable='manifest'):
    """The manifest's path, normalised; SecretsError naming ``variable`` when it cannot be one."""
    if not isinstance(path, str) or not path.startswith('/') or path.endswith('/') or any(c in path for c in '\n\r\0'):
        raise SecretsError('%s must be the absolute path of a file on the target, got %r' % (variable, path))
    norm = posixpath.normpath(path)
    if in_store(norm):
        raise SecretsError('%s (%s) must not be in the Nix store, which is read-only' % (variable, path))
    return norm


def public(secret):
    """What may be shown of a secret: where it goes and how, never what it holds."""
    return {k: secret[k] for k in ('dest', 'owner', 'group', 'mode', 'upload')}


def _assign(**values):
    return ''.join('%s=%s\n' % (k, shlex.quote(str(v))) for k, v in sorted(values.items()))


_PROBE_ONE = r'''
probe_one() {
  i=$1 f=$2 o=$3 g=$4
  d=${f%/*}; [ -n "$d" ] || d=/
  a=$d; while [ ! -e "$a" ]; do a=${a%/*}; [ -n "$a" ] || a=/; done
  printf 's%s_dir=%s\n' "$i" "$(readlink -f "$a")"
  if [ -L "$f" ]; then printf 's%s_type=link\ns%s_link=%s\n' "$i" "$i" "$(readlink -f "$f")"
  elif [ -f "$f" ]; then printf 's%s_type=file\ns%s_stat=%s\n' "$i" "$i" "$(stat -c '%u %g %a' "$f")"
  elif [ -e "$f" ]; then printf 's%s_type=other\n' "$i"
  else printf 's%s_type=none\n' "$i"; fi
  case $o in *[!0-9]*) printf 's%s_uid=%s\n' "$i" "$(id -u -- "$o" 2>/dev/null)" ;; *) printf 's%s_uid=%s\n' "$i" "$o" ;; esac
  case $g in *[!0-9]*) printf 's%s_gid=%s\n' "$i" "$(getent group "$g" 2>/dev/null | cut -d: -f3)" ;; *) printf 's%s_gid=%s\n' "$i" "$g" ;; esac
}
'''


def probe(secrets, manifest=None):
    """Read-only, one command for all secrets: the nearest existing directory above each file
    (resolved), what the file is now (type, uid, gid, mode), and the owner's and group's ids.
    With ``manifest``, also each path it lists, as ``managed=present:PATH`` (a file or a link is
    there), ``managed=other:PATH`` (a directory, say) or ``managed=absent:PATH``."""
    lines = ['printf "uid=%s\\n" "$(id -u)"']
    if manifest:
        lines.append(_assign(M=manifest).rstrip('\n'))
        lines.append('if [ -f "$M" ]; then while IFS= read -r f || [ -n "$f" ]; do [ -n "$f" ] || continue; '
                     'if [ -L "$f" ] || [ -f "$f" ]; then echo "managed=present:$f"; elif [ -e "$f" ]; then echo "managed=other:$f"; '
                     'else echo "managed=absent:$f"; fi; '
                     'done < "$M"; fi')
    for n, s in enumerate(secrets):
        lines.append('probe_one %d %s %s %s' % (n, shlex.quote(s['dest']), shlex.quote(s['owner']), shlex.quote(s['group'])))
    return _PROBE_ONE.lstrip('\n') + '\n'.join(lines) + '\ntrue'


def managed(text):
    """The manifest's paths from the probe's output: {path: 'present', 'other' or 'absent'}. Entries
    that are not absolute paths outside the Nix store (a hand-edited manifest) are ignored, never removed."""
    out = {}
    for line in (text or '').splitlines():
        if line.startswith('managed='):
            how, dummy, path = line[len('managed='):].partition(':')
            norm = posixpath.normpath(path) if path.startswith('/') else None
            if norm and not norm.startswith('//') and not in_store(norm) and how in ('present', 'other', 'absent'):
                out[norm] = how
    return out


def stale(secrets, managed_paths):
    """The managed paths no secret of the list names any more, sorted: what a prune removes."""
    wanted = set(s['dest'] for s in secrets)
    return sorted(p for p in managed_paths if p not in wanted)


def next_manifest(secrets, managed_paths, stages, prune):
    """The manifest after this run: what it listed (without the stale paths when pruning) and every
    dest written in this run's stages."""
    keep = set(managed_paths) - set(stale(secrets, managed_paths) if prune else ())
    return sorted(keep | set(s['dest'] for s in secrets if s['upload'] in stages))


def remove_script(paths):
    """Remove files and links (a link itself, never what it points to), nothing else, even if one
    became something else since the probe. One ``removed=PATH`` line each."""
    lines = []
    for path in paths:
        lines.append(_assign(F=path).rstrip('\n'))
        lines.append('if [ -L "$F" ] || [ -f "$F" ]; then rm -f -- "$F" && echo "removed=$F"; fi')
    return '\n'.join(lines) + '\ntrue'


def manifest_script(manifest, empty=False):
    """Write the manifest (the paths on stdin) as a secret of root's is written: atomically, 0600."""
    return write_script({'dest': manifest, 'owner': '0', 'group': '0', 'mode': '0600'}, False, empty)


def removed_diff(path):
    """The diff of a removed secret: that it goes, not what it held."""
    return {'before_header': path, 'after_header': path, 'before': 'content: (secret, not shown)\n',
            'after': '(absent: no longer in the list)\n'}


def state(probed, n):
    """One secret's state on the target from the probe's output."""
    def get(key):
        return probed.get('s%d_%s' % (n, key), '')
    st = {'dir': get('dir'), 'type': get('type') or 'none', 'link': get('link'),
          'uid': get('uid'), 'gid': get('gid'), 'current': None}
    if st['type'] == 'file':
        parts = get('stat').split()
        if len(parts) == 3:
            st['current'] = {'uid': parts[0], 'gid': parts[1], 'mode': '0' + parts[2][-3:].rjust(3, '0')}
    return st


def problems(secrets, probed, stages, variable='secrets', check_mode=False):
    """What refuses the run, for every secret (paths) and for those written now (owners). Empty: go."""
    errors = []
    if probed.get('uid') not in (None, '0'):
        errors.append('secrets are written as root: run the task with become: true (the target said uid %s)' % probed.get('uid'))
    for n, s in enumerate(secrets):
        where = '%s[%d] (dest %s)' % (variable, s['index'], s['dest'])
        st = state(probed, n)
        if st['dir'] and in_store(st['dir']):
            errors.append('%s: its directory resolves to %s, inside the Nix store (through a symbolic link); a secret must '
                          'not go there. Choose a path outside /nix/store.' % (where, st['dir']))
        elif not st['dir']:
            errors.append('%s: could not read its directory on the target' % where)
        if st['type'] == 'link' and in_store(st['link']):
            errors.append('%s: it is a link into the Nix store (%s), a file the system manages; choose another path'
                          % (where, st['link']))
        elif st['type'] == 'other':
            errors.append('%s: it exists and is not a regular file (a directory?); choose another path' % where)
        if s['upload'] in stages and not (check_mode and s['upload'] == 'post-activation'):
            for key, idkey in (('owner', 'uid'), ('group', 'gid')):
                if not st[idkey]:
                    errors.append('%s: %s %s does not exist on the target%s' % (
                        where, key, s[key], '' if s['upload'] == 'post-activation' else
                        '; a user or group the new system creates exists only after activation: set upload: post-activation'))
    return errors


def metadata_differs(secret, st):
    """True when the file is missing, a link, or its owner, group or mode differ from the secret's."""
    cur = st['current']
    if st['type'] != 'file' or cur is None:
        return True
    return (cur['uid'], cur['gid'], cur['mode']) != (st['uid'], st['gid'], secret['mode'])


def _source(empty):
    # Empty content cannot go on stdin: the ssh connection sends no stdin for empty data and
    # allocates a terminal, so `cat` would wait for ever. Such content is read from /dev/null.
    return '/dev/null' if empty else '-'


def compare_script(secret, empty=False):
    """Check mode: compare the content (on stdin) with the file, read-only."""
    return _assign(F=secret['dest'], IN=_source(empty)) + (
        'if [ -f "$F" ] && [ ! -L "$F" ] && cmp -s "$IN" "$F"; then echo content=same; else cat "$IN" >/dev/null; '
        'echo content=differs; fi')


def write_script(secret, force, empty=False):
    """Write the content (on stdin; with ``empty``, none) atomically: a temporary file in the same directory (mode 0600
    from the start), owner, group and mode set on it, then renamed over the file. Unchanged content
    with the right metadata leaves the file alone; ``same`` says whether the content was the same
    when the file was rewritten for its owner, group or mode. Missing directories are made root:root 0755."""
    return _assign(F=secret['dest'], O=secret['owner'], G=secret['group'], M=secret['mode'], FORCE='1' if force else '0',
                   IN=_source(empty)) + r'''
set -e
d=${F%/*}; [ -n "$d" ] || d=/
[ -d "$d" ] || (umask 022 && mkdir -p "$d")
umask 077
t=$(mktemp "$d/.nixkit-secret.XXXXXX")
trap 'rm -f "$t"' EXIT
cat "$IN" > "$t"
same=no
if [ -f "$F" ] && [ ! -L "$F" ] && cmp -s "$t" "$F"; then same=yes; fi
if [ "$FORCE" = 0 ] && [ "$same" = yes ]; then echo content=same; exit 0; fi
chown "$O:$G" "$t"
chmod "$M" "$t"
mv -f "$t" "$F"
trap - EXIT
echo content=written; echo same=$same'''.rstrip('\n')


def describe(secret, st, meta_changed, content_changed):
    """A diff that says what changes without showing the content."""
    cur = st['current']
    before = ('(absent)\n' if st['type'] == 'none' else 'a symbolic link, replaced by a file\n' if st['type'] == 'link'
              else 'content: (secret, not shown)\nowner: %s, group: %s, mode: %s\n' % (
                  cur['uid'], cur['gid'], cur['mode']) if cur else '(unreadable)\n')
    after = 'content: (secret, not shown%s)\nowner: %s, group: %s, mode: %s\n' % (
        ', changed' if content_changed and st['type'] == 'file' else '', secret['owner'], secret['group'], secret['mode'])
    return {'before_header': secret['dest'], 'after_header': secret['dest'], 'before': before, 'after': after}
