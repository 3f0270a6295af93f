# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_switch's decisions, from what the target reported (no I/O here): input checks, the
probe's verdicts, `changed`, the rollback target, and the words of the result."""

from __future__ import annotations

import json
import re

from ansible_collections.nixkit.nix.plugins.plugin_utils._switch_shell import NIX_ENV_DIRS

# /nix/store/, 32 characters of Nix's base32 (no e, o, u, t), a dash, a name Nix accepts.
STORE_PATH_RE = re.compile(r'^/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-_?=][A-Za-z0-9+\-._?=]*$')
ACTIONS = ('switch', 'boot', 'test', 'dry-activate', 'rollback')
EXIT_MEANINGS = {
    4: 'some units failed to start',
    100: 'a reboot is required',
    124: 'it did not finish within the timeout and was killed',
    127: 'the system has no bin/switch-to-configuration',
}


def parse_kv(text):
    """`key=value` lines into a dict; a key seen again keeps its last value, except the keys in
    LIST_KEYS, which collect every value in order."""
    result = {}
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if not sep or not key or ' ' in key:
            continue
        if key in LIST_KEYS:
            result.setdefault(key, []).append(value)
        else:
            result[key] = value
    return result


LIST_KEYS = ('gen_link', 'tool', 'running_unit')
ON_INHIBITED = ('fail', 'boot')


def _inhibitors(text):
    """A system's switch-inhibitors file as {name: value}: nixpkgs writes a JSON object (26.05);
    a plain list of store paths, one a line, is read as {path: path}."""
    text = (text or '').strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return dict((str(k), str(v)) for k, v in data.items())
    return dict((line, line) for line in text.split())


def inhibitor_changes(probe):
    """Names of the switch inhibitors whose value differs between the running system and the new
    one (only names both declare count, as in nixpkgs' own check); [] when either has none."""
    new, running = _inhibitors(probe.get('inhibitors_new')), _inhibitors(probe.get('inhibitors_running'))
    if not new or not running:
        return []
    if all(k == v for k, v in new.items()):  # plain lists: compare as sets
        return sorted(set(new) ^ set(running))
    return sorted(k for k in new if k in running and new[k] != running[k])


def check_store_path(value):
    """None when `value` can be a system closure's store path, else why not."""
    if not isinstance(value, str) or not value:
        return 'store_path is required'
    if not STORE_PATH_RE.match(value):
        return ('store_path must be a store path, /nix/store/ then a 32-character hash, a dash and a name'
                ' (no trailing slash, nothing inside it): got %r' % value)
    return None


def generations(probe, profile):
    """{number: store path} of the profile's generation links (PROFILE-N-link)."""
    name = re.escape(profile.rstrip('/').rsplit('/', 1)[-1])
    found = {}
    for entry in probe.get('gen_link', []):
        link, dummy, target = entry.partition(' ')
        match = re.match(r'^%s-(\d+)-link$' % name, link)
        if match:
            found[int(match.group(1))] = target
    return found


def current_generation(probe):
    """The profile's current generation number, or None when there is no profile."""
    match = re.search(r'-(\d+)-link$', probe.get('profile_link', ''))
    return int(match.group(1)) if match else None


def preflight(probe, action, store_path):
    """A list of reasons the target cannot take this action (empty when it can)."""
    errors = []
    if probe.get('uid') != '0':
        errors.append('nixos_switch must run as root on the target (uid %s): connect as root or set become: true'
                      % probe.get('uid', '?'))
    if probe.get('systemd') != 'yes':
        errors.append('the target does not run systemd (no /run/systemd/system), which nixos_switch needs to run the activation detached')
    missing = [t for t in ('systemd-run', 'systemctl', 'flock', 'timeout') if t not in probe.get('tool', [])]
    if missing:
        errors.append('the target lacks %s' % ', '.join(missing))
    if action in ('switch', 'boot', 'rollback') and not probe.get('nix_env'):
        errors.append('nix-env was not found in %s or %s' % (', '.join(NIX_ENV_DIRS[:-1]), NIX_ENV_DIRS[-1]))
    if action != 'rollback':
        if probe.get('store_exists') != 'yes':
            errors.append('store_path %s does not exist on the target (copy the closure there first)' % store_path)
        elif probe.get('store_switch') != 'yes':
            errors.append('store_path %s is not a NixOS system: it has no executable bin/switch-to-configuration' % store_path)
    return errors


def lock_holder(probe):
    """None when no switch runs on the target, else a sentence naming the one that does."""
    active = [u.split(' ')[0] for u in probe.get('running_unit', []) if u.split(' ')[-1] in ('active', 'activating', 'reloading')]
    if probe.get('locked') != 'yes' and not active:
        return None
    unit = probe.get('holder_unit') or (active[0] if active else 'unknown')
    what = ''
    if probe.get('holder_action'):
        what = ' (%s %s since %s)' % (probe['holder_action'], probe.get('holder_store_path') or 'generation',
                                      probe.get('holder_since', '?'))
    return 'another switch is running on the target: unit %s%s holds the lock' % (unit, what)


def rollback_target(probe, profile, wanted=None):
    """(generation number, store path) that action=rollback returns to: `wanted`, or the newest
    generation older than the current one, as nix-env --rollback picks. Raises ValueError."""
    gens = generations(probe, profile)
    if wanted is not None:
        if wanted not in gens:
            raise ValueError('rollback_to: %s has no generation %d (it has %s)'
                             % (profile, wanted, ', '.join(str(g) for g in sorted(gens)) or 'none'))
        return wanted, gens[wanted]
    current = current_generation(probe)
    older = [g for g in gens if current is not None and g < current]
    if not older:
        raise ValueError('%s has no generation older than the current one (%s) to roll back to' % (profile, current))
    return max(older), gens[max(older)]


def decide(probe, action, store_path, profile, rollback_to=None, rollback_activation='switch'):
    """What the task would do: dict(changed, previous_store_path, previous_generation, generation,
    store_path). `changed` comes from state: the running system (switch, test), the profile (boot),
    both (switch, rollback)."""
    running = probe.get('current_system') or None
    target = probe.get('profile_target') or None
    current = current_generation(probe)
    plan = dict(previous_generation=current, generation=current, store_path=store_path,
                previous_store_path=target if action == 'boot' else running)
    if action == 'rollback':
        number, path = rollback_target(probe, profile, rollback_to)
        # A rollback for the next boot leaves the running system alone: only the profile counts.
        plan.update(store_path=path, generation=number,
                    changed=not (current == number and (rollback_activation == 'boot' or running == path)))
    elif action == 'dry-activate':
        plan['changed'] = False
    else:
        done = {'switch': running == store_path and target == store_path,
                'test': running == store_path,
                'boot': target == store_path}[action]
        plan['changed'] = not done
        if not done and action in ('switch', 'boot') and target != store_path:
            plan['generation'] = max(list(generations(probe, profile)) + [0]) + 1
    return plan


def exit_meaning(code):
    return EXIT_MEANINGS.get(code, 'it failed')


def to_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def outcome(record, action, store_path, confirm_timeout, confirm_error=None, rollback_activation='switch'):
    """(failed, msg, fields) from the job's record (parse_kv of UNIT.result). `rollback_activation`:
    what action=rollback ran on the generation returned to (switch, or boot for a reboot into it)."""
    code = to_int(record.get('exit_code'))
    fields = dict(exit_code=code, reboot_required=code == 100, rolled_back=record.get('rolled_back') == 'yes',
                  generation=to_int(record.get('generation')), previous_generation=to_int(record.get('previous_generation')),
                  confirmed={'yes': True, 'no': False}.get(record.get('confirmed')),
                  deleted_generation=to_int(record.get('deleted_generation')))
    if fields['rolled_back']:
        fields['generation'] = to_int(record.get('rollback_generation'))
    run = '%s/bin/switch-to-configuration %s' % (store_path, rollback_activation if action == 'rollback' else action)
    if record.get('inhibited') == 'yes':
        names = record.get('inhibitors') or 'see log'
        if record.get('action') == 'boot' and code in (0, 100) and not record.get('error'):
            fields['reboot_required'] = True
            return False, ('The new system changes switch inhibitors (%s): it cannot be activated while this system runs. '
                           'Registered as generation %s for the next boot (%s/bin/switch-to-configuration boot exited %d); '
                           'reboot to activate it.' % (names, record.get('generation') or '?', store_path, code)), fields
        if not record.get('error'):
            return True, 'The new system changes switch inhibitors (%s).' % names, fields
    if record.get('phase') == 'refused':
        holder = dict(((k, v) for k, v in record.items() if k.startswith('holder_')), locked='yes')
        return True, 'Refused: ' + lock_holder(holder), fields
    if record.get('error'):
        if code is None and record.get('phase') in (None, 'started', 'done'):
            return True, 'Nothing was activated: %s.' % record['error'], fields
        return True, 'The activation job failed after phase %s: %s.' % (record.get('phase'), record['error']), fields
    if code is None:
        return True, 'The activation job ended without recording an exit code (see log).', fields
    if record.get('confirmed') == 'no':
        why = ('No confirmation reached the target over a fresh SSH connection within %d s after the activation'
               % confirm_timeout)
        if confirm_error:
            why += ' (%s)' % confirm_error
    elif code in (0, 100) and action == 'rollback':
        fields['rolled_back'] = True
        msg = 'Rolled back to generation %s (%s): switch-to-configuration %s exited %d' % (
            fields['generation'], store_path, rollback_activation, code)
        if rollback_activation == 'boot':
            msg += ' (the boot default now; a reboot runs it)'
            fields['reboot_required'] = True
        if fields['deleted_generation'] is not None:
            msg += '; generation %d deleted' % fields['deleted_generation']
        return False, msg + '.', fields
    elif code in (0, 100):
        msg = '%s exited %d' % (run, code) + (': %s.' % EXIT_MEANINGS[100] if code == 100 else '.')
        return False, msg, fields
    else:
        why = '%s exited %d: %s' % (run, code, exit_meaning(code))
    if action == 'dry-activate':
        return True, why + '.', fields
    if fields['rolled_back']:
        return True, '%s. Rolled back to %s (%s).' % (
            why, 'generation %s' % record['rollback_generation'] if record.get('rollback_generation') else 'the previous system',
            record.get('rollback_store_path', '?')), fields
    if record.get('rollback_error'):
        return True, '%s. The rollback did not complete: %s.' % (why, record['rollback_error']), fields
    return True, '%s. Not rolled back (rollback: false): the target keeps generation %s.' % (why, record.get('generation') or '?'), fields
