# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a role's managed files, account and Nix look like on the host now, read with one shell command.

The estate action runs it in the same command as the install probe, so reading a host's whole state costs one
round trip and no Python there. A role's plan compares it with what it wants (``_plan_builder.differs``): the
tasks whose part already holds are skipped, and a no-op run starts no module on the host. The comparison only
ever skips a task when the host provably holds what the task would write; anything it cannot tell runs the task,
which decides from state as before."""

from __future__ import annotations

import hashlib
import shlex

from ansible_collections.nixkit.nix.plugins.module_utils import _nix_conf as nix_conf

# What the roles leave (uid:gid:mode): root's directories and public files.
ROOT_DIR = '0:0:755'
ROOT_FILE = '0:0:644'

# Paths and names the collection manages have no spaces; a line per fact, its path or name last where free text
# could follow, so the parse never depends on the order or on a line missing.
_SCRIPT = r'''
nix_path=$1; shift
# Open a store and say nothing (nix store info: Nix 2.19; store ping before).
store_info='store=$1; shift; nix --extra-experimental-features nix-command store info --store "$store" "$@" ||
  nix --extra-experimental-features nix-command store ping --store "$store" "$@"'
while [ "$#" -gt 0 ]; do
  kind=$1; shift
  case $kind in
    file)
      p=$1; shift
      if [ -d "$p" ] && [ ! -L "$p" ]; then sum=dir
      elif [ -f "$p" ] && [ ! -L "$p" ]; then sum=$(sha256sum < "$p" | cut -d' ' -f1)
      else echo "file absent - $p"; continue; fi
      echo "file $sum $(stat -c '%u:%g:%a' "$p") $p" ;;
    include)
      conf=$1 inc=$2; shift 2
      if grep -qxF "!include $inc" "$conf" 2>/dev/null; then echo "include yes $conf $inc"; else echo "include no $conf $inc"; fi ;;
    account)
      u=$1; shift
      if entry=$(getent passwd "$u"); then
        echo "account $u $(echo "$entry" | cut -d: -f6) $(echo "$entry" | cut -d: -f7) $(id -nG "$u" | tr ' ' ,) $(getent shadow "$u" | cut -d: -f2)"
      else echo "account $u absent"; fi ;;
    reach)
      u=$1; shift
      # The account reaches the daemon as its clients' sessions will.
      if runuser -u "$u" -- env PATH="$nix_path" sh -c "$store_info" sh daemon </dev/null >/dev/null 2>&1
      then echo "reach yes $u"; else echo "reach no $u"; fi ;;
    config)
      # What this Nix uses now (nix config show: 2.20; show-config before), name = value lines.
      { PATH=$nix_path nix --extra-experimental-features nix-command config show 2>/dev/null ||
        PATH=$nix_path nix --extra-experimental-features nix-command show-config 2>/dev/null; } | sed 's/^/config /' ;;
    peer)
      # A builder or SSH cache reached as root's daemon reaches it (what the role's preflight checks in detail).
      name=$1 store=$2 opts=$3 t=$4; shift 4
      # A cache directory of its own: Nix remembers an HTTP cache's nix-cache-info, and must ask the server now.
      cache=$(mktemp -d)
      if XDG_CACHE_HOME=$cache NIX_SSHOPTS="$opts -o ConnectTimeout=$t -o BatchMode=yes -o UpdateHostKeys=no" \
           PATH=$nix_path timeout $((t + 5)) sh -c "$store_info" sh "$store" --option connect-timeout "$t" \
           --option download-attempts 1 </dev/null >/dev/null 2>&1
      then echo "peer yes $name"; else echo "peer no $name"; fi
      rm -rf "$cache" ;;
    derive)
      # The public key of a Nix signing secret (nix key: Nix 2.26 and later here); nothing when it cannot tell.
      p=$1; shift
      pub=$(PATH=$nix_path nix --extra-experimental-features nix-command key convert-secret-to-public < "$p" 2>/dev/null) &&
        echo "derived $p $pub" ;;
    lines)
      # A public file's lines (known_hosts), each as it is.
      p=$1; shift
      # awk ends every line, also a last one without a newline (Nix writes public keys without one).
      [ -f "$p" ] && awk -v p="$p" '{ print "lines " p " " $0 }' "$p" ;;
    hostkey)
      echo "hostkey $(cut -d' ' -f1-2 /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null)" ;;
  esac
done
true
'''


def command(nix_path, files=(), includes=(), accounts=(), daemon_users=(), config=False, host_key=False, lines=(),
            peers=(), timeout=10, derive=()):
    """The shell command reading these; its output is parse()'s input. ``includes``: (nix.conf, included file);
    ``lines``: public files read whole, line by line; ``peers``: [{name, store, sshopts}] to reach, ``timeout`` s each;
    ``derive``: Nix signing secrets whose public key is derived (never printed themselves)."""
    argv = ['sh', '-c', _SCRIPT, 'sh', nix_path]
    for peer in peers:
        argv += ['peer', peer['name'], peer['store'], peer['sshopts'], str(int(timeout))]
    for path in files:
        argv += ['file', path]
    for path in lines:
        argv += ['lines', path]
    for path in derive:
        argv += ['derive', path]
    for conf, path in includes:
        argv += ['include', conf, path]
    for name in accounts:
        argv += ['account', name]
    for name in daemon_users:
        argv += ['reach', name]
    if config:
        argv += ['config']
    if host_key:
        argv += ['hostkey']
    return ' '.join(shlex.quote(arg) for arg in argv)


def parse(text):
    """{files: {path: {sha256|None, dir, owner (uid:gid:mode)}}, includes: {(conf, path): bool},
    accounts: {name: None | {home, shell, groups, password}}, daemon: {user: bool}, config: {name: value},
    host_key: str, lines: {path: [line]}, peers: {name: answered}, derived: {secret path: public key}}."""
    state = {'files': {}, 'includes': {}, 'accounts': {}, 'daemon': {}, 'config': {}, 'host_key': '', 'lines': {},
             'peers': {}, 'derived': {}}
    for line in (text or '').splitlines():
        tag, dummy, rest = line.partition(' ')
        words = rest.split()
        if tag == 'file' and len(words) == 3:
            digest, stat, path = words
            state['files'][path] = None if digest == 'absent' else {
                'sha256': None if digest == 'dir' else digest, 'dir': digest == 'dir', 'stat': stat}
        elif tag == 'include' and len(words) == 3:
            state['includes'][(words[1], words[2])] = words[0] == 'yes'
        elif tag == 'account' and words:
            if len(words) == 5:
                state['accounts'][words[0]] = {'home': words[1], 'shell': words[2], 'groups': words[3].split(','),
                                               'password': words[4]}
            elif len(words) == 4:  # no shadow entry readable
                state['accounts'][words[0]] = {'home': words[1], 'shell': words[2], 'groups': words[3].split(','),
                                               'password': None}
            else:
                state['accounts'][words[0]] = None
        elif tag == 'reach' and len(words) == 2:
            state['daemon'][words[1]] = words[0] == 'yes'
        elif tag == 'config':
            name, sep, value = rest.partition(' = ')
            if sep:
                state['config'][name.strip()] = value.strip()
        elif tag == 'derived' and len(words) == 2:
            state['derived'][words[0]] = words[1]
        elif tag == 'peer' and len(words) == 2:
            state['peers'][words[1]] = words[0] == 'yes'
        elif tag == 'lines' and words:
            path, dummy, text = rest.partition(' ')
            state['lines'].setdefault(path, []).append(text)
        elif tag == 'hostkey':
            state['host_key'] = rest.strip()
    return state


def digest(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def holds(state, path, content=None, stat=ROOT_FILE):
    """The file is there with this content (None: a directory; False: any content) and owner, group and mode."""
    found = state['files'].get(path)
    if not found or found['stat'] != stat:
        return False
    if content is None:
        return found['dir']
    return not found['dir'] if content is False else found['sha256'] == digest(content)


def holds_text(state, path, content):
    """The file holds this content, whatever its mode (for modules that leave the mode alone)."""
    return (state['files'].get(path) or {}).get('sha256') == digest(content)


def settings_text(settings):
    """What nix_conf (exclusive) writes for these settings into a file of its own."""
    lines, dummy = nix_conf.apply([], settings)
    lines, dummy = nix_conf.remove_unlisted(lines, settings)
    return nix_conf.render(lines)
