# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What nix_build asks Nix and how it reads the answers (private; no public API promise)."""

import json
import re

# Applied to the installable's value: its derivation and output paths, without building anything.
# A value that is not a derivation throws a marker the module turns into a message.
NOT_A_DERIVATION = 'nixkit-not-a-derivation'
DESCRIBE = (
    'd: if builtins.isAttrs d && d ? drvPath then { drvPath = d.drvPath; outputs = builtins.listToAttrs '
    '(map (o: { name = o; value = d.${o}.outPath; }) (d.outputs or [ "out" ])); } '
    'else throw "' + NOT_A_DERIVATION + ': ${builtins.typeOf d}"'
)
STORE_PATH_RE = re.compile(r'^/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$')
SETTING_RE = re.compile(r'^[a-z][a-z0-9-]*$')


class BuildError(Exception):
    """A refusal or failure, with the option it concerns."""


def installable_args(params):
    """(field, installable arguments for `nix eval`/`nix build`, extra experimental features)."""
    if params.get('flake'):
        flake = params['flake']
        if params.get('attr'):
            raise BuildError('attr cannot be used with flake: write the attribute after "#" in flake, '
                             'as in "path#nixosConfigurations.HOST.config.system.build.toplevel"')
        if params.get('argstr'):
            raise BuildError('argstr cannot be used with flake: flakes take no arguments')
        if '#' not in flake:
            raise BuildError('flake=%r names no attribute: write "FLAKEREF#ATTRIBUTE", as in '
                             '"path#nixosConfigurations.HOST.config.system.build.toplevel"' % flake)
        return 'flake', [flake], ['flakes']
    attr = params.get('attr') or ''
    args = []
    for name, value in sorted((params.get('argstr') or {}).items()):
        args += ['--argstr', name, str(value)]
    if params.get('file'):
        return 'file', ['--file', params['file'], attr] + args, []
    if params.get('expr'):
        # Pure evaluation forbids absolute paths and <nixpkgs>, which expressions usually need.
        return 'expr', ['--impure', '--expr', params['expr'], attr] + args, []
    raise BuildError('one of flake, file or expr is required')


def option_args(options):
    """`--option NAME VALUE` for each Nix setting; lists are joined with spaces, booleans spelled as Nix does."""
    args = []
    for name, value in sorted((options or {}).items()):
        if not SETTING_RE.match(name):
            raise BuildError('options: %r is not a Nix setting name' % name)
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        elif isinstance(value, (list, tuple)):
            value = ' '.join(str(v) for v in value)
        args += ['--option', name, str(value)]
    return args


def parse_description(out):
    """(drv_path, {output: path}) from the JSON the DESCRIBE function printed."""
    try:
        data = json.loads(out)
        drv, outputs = data['drvPath'], data['outputs']
    except (ValueError, KeyError, TypeError):
        raise BuildError('could not read what nix eval printed: %r' % (out or '')[:200])
    for path in [drv] + list(outputs.values()):
        if not isinstance(path, str) or not STORE_PATH_RE.match(path):
            raise BuildError('nix eval printed %r, which is not a store path' % (path,))
    return drv, outputs


def ordered_outputs(outputs):
    """Output paths with `out` first, then the others by name (the order `nix build` prints)."""
    names = sorted(outputs, key=lambda name: (name != 'out', name))
    return [outputs[name] for name in names]


def eval_failure(field, value, stderr):
    """A message for a failed evaluation that names the option at fault."""
    err = stderr or ''
    last = last_error(err)
    match = re.search(NOT_A_DERIVATION + r': (\w+)', err)
    if match:
        what = 'flake' if field == 'flake' else 'attr'
        return '%s: %s evaluates to a value of type %s, not a derivation' % (what, describe(field, value), match.group(1))
    if 'does not provide attribute' in err:
        return 'flake: %s' % strip_error(last)
    match = re.search(r"attribute '([^']*)' (?:missing|in selection path '[^']*' not found)", err)
    if match:
        return "attr: attribute '%s' missing while evaluating %s" % (match.group(1), describe(field, value))
    if field == 'file' and re.search(r"path '[^']*' does not exist", err):
        return 'file: %s' % strip_error(last)
    if 'syntax error' in err:
        return '%s: %s has a syntax error: %s' % (field, describe(field, value), strip_error(syntax_line(err)))
    return '%s: evaluation of %s failed: %s' % (field, describe(field, value), strip_error(last))


def describe(field, value):
    if field == 'file':
        return '%s (attr %r)' % (value['file'], value.get('attr') or '')
    if field == 'expr':
        return 'the expression (attr %r)' % (value.get('attr') or '')
    return value['flake']


def syntax_line(stderr):
    for line in stderr.splitlines():
        if 'syntax error' in line:
            return line.strip()
    return last_error(stderr)


def build_failure(drv, stderr):
    """A message for a failed build: Nix's error and the builder's last log lines."""
    lines = [line.rstrip() for line in (stderr or '').splitlines()]
    start = [i for i, line in enumerate(lines) if line.lstrip().startswith('error:')]
    detail = ' '.join(line.strip() for line in lines[start[0]:] if line.strip()) if start else last_error(stderr)
    return 'build of %s failed: %s' % (drv, strip_error(detail))


def last_error(stderr):
    """The last line Nix started with "error:", else the last line."""
    lines = [line.strip() for line in (stderr or '').splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith('error:')]
    return (errors or lines or [''])[-1]


def strip_error(line):
    return re.sub(r'^error:\s*', '', line.strip())


def parse_invalid(out):
    return [line.strip() for line in (out or '').splitlines() if line.strip()]
