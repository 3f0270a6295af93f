# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse, edit and render nix.conf files without losing what we do not manage.

Nix reads a nix.conf line by line: everything after ``#`` is a comment, the rest is split on
whitespace, ``include PATH`` / ``!include PATH`` pull in other files, and every other non-empty
line must be ``name = value...``. A later definition of a name overrides an earlier one. This
module keeps every line it does not need to touch byte for byte, so edits show up as minimal diffs.
"""

import difflib
import json
import re

# Private module_utils: no public API promise.

NAME_RE = re.compile(r'^[a-z][a-z0-9]*(-[a-z0-9]+)*$')

# Settings whose value is a whitespace-separated list (Nix 2.x), without their `extra-` twins.
LIST_SETTINGS = frozenset((
    'access-tokens', 'allowed-impure-host-deps', 'allowed-uris', 'allowed-users',
    'experimental-features', 'hashed-mirrors', 'impure-env', 'nix-path', 'platforms',
    'plugin-files', 'sandbox-paths', 'secret-key-files', 'substituters', 'system-features',
    'trusted-public-keys', 'trusted-substituters', 'trusted-users',
))

BOOL_SETTINGS = frozenset((
    'accept-flake-config', 'allow-dirty', 'allow-import-from-derivation', 'allow-symlinked-store',
    'allow-unsafe-native-code-during-evaluation', 'always-allow-substitutes', 'auto-optimise-store',
    'builders-use-substitutes', 'compress-build-log', 'fallback', 'fsync-metadata', 'http2',
    'ignore-try', 'keep-build-log', 'keep-derivations', 'keep-env-derivations', 'keep-failed',
    'keep-going', 'keep-outputs', 'preallocate-contents', 'print-missing', 'pure-eval',
    'require-drop-supplementary-groups', 'require-sigs', 'restrict-eval', 'run-diff-hook',
    'sandbox-fallback', 'show-trace', 'substitute', 'trace-function-calls', 'use-cgroups',
    'use-registries', 'use-sqlite-wal', 'use-xdg-base-directories', 'warn-dirty',
))

INT_SETTINGS = frozenset((
    'build-poll-interval', 'connect-timeout', 'cores', 'download-attempts', 'http-connections', 'log-lines',
    'max-silent-time', 'max-substitution-jobs', 'narinfo-cache-negative-ttl',
    'narinfo-cache-positive-ttl', 'stalled-download-timeout', 'timeout',
))

# Settings with a small set of words besides their base type.
EXTRA_WORDS = {
    'max-jobs': ('auto',),
    'sandbox': ('relaxed',),
}


# Settings whose items are store URLs (their `extra-` forms and old aliases too): a substituter Nix
# cannot open is skipped with a warning in every build's log, so a typo silently turns a cache off.
STORE_URL_SETTINGS = frozenset(('substituters', 'trusted-substituters', 'binary-caches', 'trusted-binary-caches'))

# The URL schemes of the store types Nix opens: the uriSchemes() of each store implementation in
# NixOS/nix src/libstore (read at 2.35; 2.8 has all but local, local-overlay and mounted-ssh-ng).
# https://nix.dev/manual/nix/stable/store/types/ documents them. gs:// (Google Cloud Storage) is only
# in a pull request so far; s3:// needs a Nix built with S3 support.
STORE_SCHEMES = ('http', 'https', 's3', 'ssh', 'ssh-ng', 'file', 'unix', 'local', 'mounted-ssh-ng',
                 'local-overlay', 'dummy')
# Schemes whose store is elsewhere, so the URL needs a host (Nix: "requires a non-empty authority").
REMOTE_SCHEMES = ('http', 'https', 's3', 'ssh', 'ssh-ng', 'mounted-ssh-ng')
# Store references that are not URLs (StoreReference::parse): these words, optionally with
# `?name=value` parameters, and paths. An absolute path is a local store rooted there.
STORE_WORDS = ('auto', 'daemon', 'local')
# What an HTTP cache given without its scheme looks like (a dotted host name or localhost, a port).
HOST_PORT_RE = re.compile(r'^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:[0-9]+)?$')


class NixConfError(ValueError):
    """Invalid input: the message names the setting and says how to fix it."""


def base_name(name):
    return name[len('extra-'):] if name.startswith('extra-') else name


def is_list_setting(name):
    return base_name(name) in LIST_SETTINGS


class Line(object):
    """One physical line. `name`/`tokens` are set for settings, `include` for include lines."""

    __slots__ = ('raw', 'name', 'tokens', 'comment', 'include')

    def __init__(self, raw, name=None, tokens=None, comment='', include=None):
        self.raw = raw
        self.name = name
        self.tokens = tokens
        self.comment = comment
        self.include = include


def parse(text):
    """Split nix.conf text into Line objects. Raises NixConfError on a line Nix would reject."""
    raw_lines = text.split('\n')
    if text.endswith('\n'):
        raw_lines.pop()
    lines = []
    for number, raw in enumerate(raw_lines if text else [], 1):
        body, hash_sign, comment = raw.partition('#')
        tokens = body.split()
        if not tokens:
            lines.append(Line(raw))
        elif tokens[0] in ('include', '!include'):
            if len(tokens) != 2:
                raise NixConfError('line %d: %r is not a valid include line (expected "include PATH")' % (number, raw))
            lines.append(Line(raw, include=tokens[1]))
        elif len(tokens) >= 2 and tokens[1] == '=':
            lines.append(Line(raw, name=tokens[0], tokens=tokens[2:], comment=hash_sign + comment))
        else:
            raise NixConfError('line %d: %r is not a valid nix.conf line (expected "name = value"); '
                               'Nix itself refuses this file, fix or remove that line first' % (number, raw))
    return lines


def render(lines):
    return ''.join(line.raw + '\n' for line in lines)


def effective(lines):
    """The value Nix would use for each name set in this file (last definition wins), as a string."""
    values = {}
    for line in lines:
        if line.name is not None:
            values[line.name] = ' '.join(line.tokens)
    return values


def _bad(name, value, expected):
    return NixConfError('setting %r: %r is not a valid value; expected %s' % (name, value, expected))


def _check_word(name, word):
    if not word or any(c.isspace() for c in word) or '#' in word:
        raise _bad(name, word, 'a non-empty item without whitespace or "#"')
    return word


def check_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise NixConfError('setting name %r is invalid: names are lowercase words joined by "-", '
                           'such as "max-jobs" or "extra-substituters"' % (name,))
    if name == 'include':
        raise NixConfError('"include" is not a setting; include lines are kept as they are')


def normalize(name, value):
    """Turn a user value into a list of tokens, checking it against what Nix accepts for `name`."""
    check_name(name)
    if value is None:
        raise NixConfError('setting %r has no value; give one, or use state=absent to remove it' % name)
    base = base_name(name)
    if isinstance(value, (list, tuple)):
        if not is_list_setting(name) and base in BOOL_SETTINGS | INT_SETTINGS:
            raise _bad(name, value, 'a single value, not a list')
        return [_check_word(name, _scalar_text(name, item)) for item in value]
    text = _scalar_text(name, value)
    if '\n' in text or '#' in text:
        raise _bad(name, text, 'a single line without "#" (Nix reads "#" as the start of a comment)')
    words = text.split()
    if base in BOOL_SETTINGS or base == 'sandbox':
        allowed = ('true', 'false') + EXTRA_WORDS.get(base, ())
        if words not in ([w] for w in allowed):
            raise _bad(name, value, 'one of %s' % ', '.join(allowed))
    elif base in INT_SETTINGS or base == 'max-jobs':
        allowed = EXTRA_WORDS.get(base, ())
        if len(words) != 1 or not (words[0].isdigit() or words[0] in allowed):
            raise _bad(name, value, 'a whole number >= 0' + ''.join(' or "%s"' % w for w in allowed))
    return words


def _scalar_text(name, value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        if value < 0:
            raise _bad(name, value, 'a whole number >= 0')
        return str(value)
    if isinstance(value, str):
        return value
    raise _bad(name, value, 'a string, number, boolean or list')


def _merged(current, wanted):
    result = list(current)
    for item in wanted:
        if item not in result:
            result.append(item)
    return result


def _set_line(line, name, tokens):
    """Rewrite a setting line, keeping its inline comment; untouched if the value is unchanged."""
    if line is not None and line.tokens == tokens:
        return line
    text = ' '.join([name, '='] + tokens)
    comment = line.comment if line is not None else ''
    if comment:
        text += ' ' + comment
    return Line(text, name=name, tokens=list(tokens), comment=comment)


def apply(lines, settings, state='present', list_mode='replace'):
    """Return (new_lines, changed_names) after setting or removing `settings` (name -> value).

    present: scalars and lists are set; with list_mode=merge, list items are added to what the
    file already has. absent: the setting is removed, or with list_mode=merge and a list value,
    only those items are taken out of the list.
    """
    lines = list(lines)
    changed = []
    for name, value in settings.items():
        merge_list = list_mode == 'merge' and is_list_setting(name)
        if state == 'absent' and not (merge_list and value is not None):
            check_name(name)
            wanted = None
        else:
            wanted = normalize(name, value)
        positions = [i for i, line in enumerate(lines) if line.name == name]
        current = lines[positions[-1]] if positions else None
        if wanted is None:
            new_line = None
        else:
            tokens = wanted
            if merge_list:
                have = current.tokens if current is not None else []
                if state == 'present':
                    tokens = _merged(have, wanted)
                else:
                    if current is None:
                        continue
                    tokens = [item for item in have if item not in wanted]
            new_line = _set_line(current, name, tokens)
        before = render(lines)
        # Keep the last (effective) definition's position; earlier duplicates go away.
        for i in reversed(positions[:-1]):
            del lines[i]
        if positions:
            last = positions[-1] - (len(positions) - 1)
            if new_line is None:
                del lines[last]
            else:
                lines[last] = new_line
        elif new_line is not None:
            lines.insert(_new_setting_position(lines), new_line)
        if render(lines) != before:
            changed.append(name)
    return lines, changed


def _new_setting_position(lines):
    """New settings go above the first include line: included files come last, so their `extra-`
    lists extend this file's lists instead of being reset by a plain assignment after them."""
    for i, line in enumerate(lines):
        if line.include is not None:
            return i
    return len(lines)


def remove_unlisted(lines, keep):
    """Drop every setting whose name is not in `keep` (a file owned whole). Returns (lines, removed)."""
    removed = sorted(set(line.name for line in lines if line.name is not None and line.name not in keep))
    return [line for line in lines if line.name is None or line.name in keep], removed


def check_include(path):
    if not isinstance(path, str) or not path.startswith('/') or any(c.isspace() for c in path) or '#' in path:
        raise NixConfError('include %r: give an absolute path without whitespace or "#"' % (path,))
    return path


def apply_includes(lines, paths, state='present'):
    """Ensure `!include PATH` lines (present: appended after everything else) or remove them.

    `!include` because a missing file is then skipped, as Nix does for the optional files it knows.
    Returns (new_lines, changed_paths).
    """
    lines = list(lines)
    changed = []
    for path in paths:
        check_include(path)
        have = [line for line in lines if line.include == path]
        if state == 'present' and not have:
            lines.append(Line('!include ' + path, include=path))
            changed.append(path)
        elif state == 'absent' and have:
            lines = [line for line in lines if line.include != path]
            changed.append(path)
    return lines, changed


def suggest_store_url(url):
    """The store URL `url` most likely means (cache.example.org -> https://cache.example.org), or None."""
    base, query = url.split('?', 1) if '?' in url else (url, None)
    scheme, sep, rest = base.partition(':')
    if sep and scheme.lower() in STORE_SCHEMES:
        # "https:/cache" or "HTTPS://cache": only the separator or the case is off.
        base = scheme.lower() + '://' + rest.lstrip('/')
    elif '://' in base:
        close = difflib.get_close_matches(scheme.lower(), STORE_SCHEMES, n=1, cutoff=0.6)
        if not close:
            return None
        base = close[0] + base[len(scheme):]
    elif HOST_PORT_RE.match(base.split('/', 1)[0]):
        base = 'https://' + base
    else:
        return None
    suggestion = base + ('?' + query if query is not None else '')
    return suggestion if suggestion != url else None


def store_url_problem(url):
    """None when Nix can open `url` as a store, else what is wrong with it."""
    base = url.split('?', 1)[0]
    if base in STORE_WORDS or base.startswith('/'):
        return None
    if '://' not in base:
        if ':' in base and base.partition(':')[0].lower() in STORE_SCHEMES:
            return '%r is not a store URL: "//" is missing after the scheme' % url
        if '/' in base:
            # Nix reads it as a path relative to the directory the daemon runs in.
            return '%r is a relative path; a local store needs an absolute one' % url
        return '%r is not a store URL: it has no scheme' % url
    scheme, rest = base.split('://', 1)
    if scheme not in STORE_SCHEMES:
        return '%r has the scheme %r, which Nix does not open' % (url, scheme)
    if scheme in REMOTE_SCHEMES and not rest.split('/', 1)[0].rpartition('@')[2]:
        return '%r has no host after %s://' % (url, scheme)
    if scheme == 'file' and not rest.startswith('/'):
        return '%r: a file:// binary cache needs an absolute path, such as file:///var/cache/nix' % url
    return None


def check_store_urls(settings):
    """Refuse store-URL settings (substituters, trusted-substituters, their extra- forms) whose items
    Nix cannot open. `settings` maps names to user values, as for apply() with state=present."""
    for name, value in settings.items():
        if base_name(name) not in STORE_URL_SETTINGS or value is None:
            continue
        for url in normalize(name, value):
            problem = store_url_problem(url)
            if problem:
                suggestion = suggest_store_url(url)
                raise NixConfError(
                    'setting %r: %s%s A store URL starts with %s, or is %s or an absolute path '
                    '(https://nix.dev/manual/nix/stable/store/types/)'
                    % (name, problem, '; did you mean %r?' % suggestion if suggestion else '.',
                       ', '.join(scheme + '://' for scheme in STORE_SCHEMES), ', '.join(STORE_WORDS)))


def known_settings(config_json):
    """The setting names a Nix knows, from the output of `nix config show --json` (or the older
    `nix show-config --json`): returns (names, appendable). Names include aliases (binary-caches
    for substituters); appendable are those with an `extra-` form: in Nix, list, set and map
    settings, which are the ones whose JSON value is a list or an object. Raises ValueError."""
    data = json.loads(config_json)
    if not isinstance(data, dict) or not data:
        raise ValueError('expected a JSON object of settings')
    names, appendable = set(), set()
    for name, info in data.items():
        info = info if isinstance(info, dict) else {}
        aliases = [alias for alias in info.get('aliases') or [] if isinstance(alias, str)]
        names.update([name] + aliases)
        # Without a value to judge by (another layout), give the extra- form the benefit of the doubt.
        if 'value' not in info or isinstance(info['value'], (list, dict)):
            appendable.update([name] + aliases)
    return frozenset(names), frozenset(appendable)


def check_known_names(names, known, appendable, allow_unknown=()):
    """Refuse setting names Nix does not know: neither a setting or alias in `known`, nor `extra-X`
    for an X in `appendable`, nor listed in allow_unknown (X there also allows extra-X)."""
    allowed = set(allow_unknown)
    for name in names:
        check_name(name)
        base = base_name(name)
        if name in known or name in allowed or (base != name and base in allowed):
            continue
        if base != name and base in known:
            if base in appendable:
                continue
            raise NixConfError('setting %r: %s is not a list, so Nix has no %s form of it; set %s '
                               'itself' % (name, base, name, base))
        candidates = sorted(known | set('extra-' + item for item in appendable))
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
        raise NixConfError('setting %r is not one the Nix on this host knows%s If a Nix plugin '
                           '(plugin-files) provides it, list it in allow_unknown_settings'
                           % (name, '; did you mean %r?' % close[0] if close else '.'))
