# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The POSIX shell that nixos_switch runs on the target (no Python there). Every command prints
`key=value` lines, read by _switch_plan.parse_kv."""

from __future__ import annotations

import shlex

from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import NIX_BIN_DIRS, NIX_PATH

STATE_DIR = '/run/nixkit'
LOCK = STATE_DIR + '/switch.lock'
HOLDER = STATE_DIR + '/switch.holder'
UNIT_PREFIX = 'nixkit-switch-'
# Where nix-env is looked for: Nix's own directories, as every module looks (module_utils/_nix_cmd.py).
NIX_ENV_DIRS = NIX_BIN_DIRS[:2] + ('/usr/bin', '/usr/local/bin')
TOOLS = ('systemd-run', 'systemctl', 'flock', 'timeout')

# `readlink -f` prints a path whose last component does not exist: `real` checks first.
_REAL = 'real() { [ -e "$1" ] && readlink -f "$1"; }\n'


_PROBE_BODY = r'''
printf 'uid=%s\n' "$(id -u)"
[ -d /run/systemd/system ] && echo systemd=yes
printf 'current_system=%s\n' "$(real /run/current-system)"
if [ -L "$P" ]; then printf 'profile_link=%s\nprofile_target=%s\n' "$(readlink "$P")" "$(real "$P")"; fi
for l in "$P"-*-link; do [ -L "$l" ] && printf 'gen_link=%s %s\n' "${l##*/}" "$(real "$l")"; done
if [ -n "$S" ]; then
  [ -f "$S/switch-inhibitors" ] && printf 'inhibitors_new=%s\n' "$(tr '\n' ' ' < "$S/switch-inhibitors")"
  [ -f /run/current-system/switch-inhibitors ] && printf 'inhibitors_running=%s\n' "$(tr '\n' ' ' < /run/current-system/switch-inhibitors)"
  [ -e "$S" ] && echo store_exists=yes
  [ -f "$S/bin/switch-to-configuration" ] && [ -x "$S/bin/switch-to-configuration" ] && echo store_switch=yes
fi
for d in $NIX_ENV_DIRS; do
  if [ -x "$d/nix-env" ]; then printf 'nix_env=%s/nix-env\n' "$(readlink -f "$d")"; break; fi
done
for t in $TOOLS; do command -v "$t" >/dev/null 2>&1 && echo "tool=$t"; done
if [ -e "$D/switch.lock" ] && ! flock -n "$D/switch.lock" true 2>/dev/null; then echo locked=yes; fi
[ -f "$D/switch.holder" ] && sed 's/^/holder_/' "$D/switch.holder"
systemctl list-units --all --plain --no-legend "$PREFIX*" 2>/dev/null | while read -r u l a rest; do echo "running_unit=$u $a"; done
true
'''


def _assign(**values):
    return ''.join('%s=%s\n' % (k, shlex.quote(v)) for k, v in sorted(values.items()))


def probe(profile, store_path):
    """Read-only: who we are, what runs, the profile's generations, the tools, the lock."""
    return _assign(P=profile, S=store_path or '', D=STATE_DIR, NIX_ENV_DIRS=' '.join(NIX_ENV_DIRS),
                   TOOLS=' '.join(TOOLS), PREFIX=UNIT_PREFIX) + _REAL + _PROBE_BODY.lstrip('\n')


def launch(unit, job_script, description):
    """Write the job script to /run/nixkit and start it as a transient unit; a dropped SSH
    connection cannot stop it. Variables in ExecStart would be expanded by systemd, so the script
    is a file and the command line holds none."""
    marker = 'NIXKIT_SWITCH_JOB_EOF'
    if marker in job_script:
        raise ValueError('job script contains its own heredoc marker')
    path = '%s/%s.sh' % (STATE_DIR, unit)
    return (
        'umask 077 && mkdir -p %(dir)s && cat > %(path)s <<\'%(marker)s\'\n%(script)s%(marker)s\n'
        'systemd-run --unit=%(unit)s --collect --quiet --service-type=exec --description=%(desc)s /bin/sh %(path)s\n'
    ) % dict(dir=STATE_DIR, path=path, marker=marker, script=job_script if job_script.endswith('\n') else job_script + '\n',
             unit=shlex.quote(unit), desc=shlex.quote(description))


def poll(unit):
    """The unit's state (prefixed unit_), the job's own record so far, and the lock holder."""
    return (
        'systemctl show -p LoadState,ActiveState,Result,ExecMainStatus %(unit)s 2>/dev/null | sed "s/^/unit_/"\n'
        'cat %(dir)s/%(unit)s.result 2>/dev/null\n'
        '[ -f %(holder)s ] && sed "s/^/holder_/" %(holder)s\n'
        'true\n'
    ) % dict(unit=shlex.quote(unit), dir=STATE_DIR, holder=HOLDER)


def confirm(unit):
    """Claim the decision for `confirmed` unless the watchdog claimed it for `timeout` first
    (a symlink is created atomically and only once); print who won."""
    decision = '%s/%s.decision' % (STATE_DIR, unit)
    return 'ln -s confirmed %(d)s 2>/dev/null; printf "decision=%%s\\n" "$(readlink %(d)s)"\n' % dict(d=decision)


def finish(unit, log_lines=200):
    """The tail of the activation log; the job's files are removed, its record kept as last.result."""
    base = '%s/%s' % (STATE_DIR, unit)
    return (
        'tail -n %(n)d %(base)s.log 2>/dev/null\n'
        'mv -f %(base)s.result %(dir)s/last.result 2>/dev/null\n'
        'rm -f %(base)s.sh %(base)s.log %(base)s.decision\n'
        'true\n'
    ) % dict(n=log_lines, base=base, dir=STATE_DIR)


_JOB_BODY = r'''
set -u
PATH=$NIXKIT_PATH
export PATH
# As nixos-rebuild: the running system's locales for the activation's programs, the boot loader on request.
if [ -e /run/current-system/sw/lib/locale/locale-archive ]; then
  LOCALE_ARCHIVE=/run/current-system/sw/lib/locale/locale-archive; export LOCALE_ARCHIVE
fi
if [ "$INSTALL_BOOTLOADER" = 1 ]; then NIXOS_INSTALL_BOOTLOADER=1; export NIXOS_INSTALL_BOOTLOADER; fi
R="$D/$UNIT.result"; LOG="$D/$UNIT.log"; DEC="$D/$UNIT.decision"
say() { printf '%s=%s\n' "$1" "$2" >>"$R"; }
real() { [ -e "$1" ] && readlink -f "$1"; }
gen_now() { l=$(readlink "$PROFILE" 2>/dev/null) || return 0; l=${l%-link}; printf '%s' "${l##*-}"; }
activate() {  # SYSTEM ACTION: switch-to-configuration's exit code (124: timed out, 127: missing)
  if [ -z "$1" ] || [ ! -x "$1/bin/switch-to-configuration" ]; then
    echo "nixos_switch: no switch-to-configuration in '$1'" >>"$LOG"; return 127
  fi
  echo "nixos_switch: $1/bin/switch-to-configuration $2" >>"$LOG"
  timeout --kill-after=10 "$TIMEOUT" "$1/bin/switch-to-configuration" "$2" </dev/null >>"$LOG" 2>&1
}
nixenv() { echo "nixos_switch: nix-env -p $PROFILE $*" >>"$LOG"; "$NIX_ENV" -p "$PROFILE" "$@" </dev/null >>"$LOG" 2>&1; }

exec 9>>"$D/switch.lock"
if ! flock -n 9; then say phase refused; exit 0; fi
trap 'rm -f "$D/switch.holder"' EXIT
printf 'unit=%s\naction=%s\nstore_path=%s\nsince=%s\n' "$UNIT" "$MODE" "$STORE" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$D/switch.holder"

prev_gen=$(gen_now); prev_path=$(real "$PROFILE"); prev_running=$(real /run/current-system)
say previous_generation "$prev_gen"; say previous_profile_path "$prev_path"; say previous_running "$prev_running"
gen=$prev_gen
say phase started

rollback() {  # restore the profile and the running system recorded above
  say phase rolling-back
  back=0
  if [ "$MODE" != test ] && [ "$gen" != "$prev_gen" ]; then
    if [ -z "$prev_gen" ]; then say rollback_error "there is no previous generation of $PROFILE"; return; fi
    nixenv --switch-generation "$prev_gen" || { say rollback_error "nix-env --switch-generation $prev_gen failed"; return; }
    nixenv --delete-generations "$gen" && say deleted_generation "$gen"
    back=1
  fi
  say rollback_generation "$(gen_now)"
  if [ "$MODE" = boot ]; then
    say rollback_store_path "$prev_path"; activate "$prev_path" boot; rrc=$?
  elif [ "$MODE" = switch ] && [ "$back" = 1 ] && [ "$prev_running" = "$prev_path" ]; then
    say rollback_store_path "$prev_path"; activate "$prev_path" switch; rrc=$?
  else
    rrc=0
    if [ "$back" = 1 ]; then activate "$prev_path" boot; rrc=$?; fi
    if [ -z "$prev_running" ]; then say rollback_error "no system was running before (/run/current-system was missing)"; return; fi
    say rollback_store_path "$prev_running"; activate "$prev_running" test || rrc=$?
  fi
  say rollback_exit_code "$rrc"
  case $rrc in 0|100) say rolled_back yes ;; *) say rollback_error "the previous system's switch-to-configuration exited $rrc" ;; esac
}

# A system that declares switch inhibitors (NixOS 26.05) says itself whether it can replace the
# running one live: its own `switch-to-configuration check`. Refused: fail before any change, or
# register it for the next boot.
if { [ "$MODE" = switch ] || [ "$MODE" = test ]; } && [ -f "$STORE/switch-inhibitors" ]; then
  echo "nixos_switch: $STORE/bin/switch-to-configuration check" >>"$LOG"
  if ! "$STORE/bin/switch-to-configuration" check </dev/null >>"$LOG" 2>&1; then
    say inhibited yes; say inhibitors "$INHIBITORS"
    if [ "$ON_INHIBITED" = boot ] && [ "$MODE" = switch ]; then
      MODE=boot; say action boot
    else
      say error "the new system changes switch inhibitors ($INHIBITORS): only a reboot can activate it;\
 nothing was changed (on_inhibited=boot registers it for the next boot)"
      say phase done; exit 0
    fi
  fi
fi

case $MODE in
  switch|boot)
    if ! nixenv --set "$STORE"; then say error "nix-env --set $STORE failed (see the log)"; say phase done; exit 0; fi
    gen=$(gen_now) ;;
  rollback)
    if ! nixenv --switch-generation "$ROLLBACK_TO"; then say error "nix-env --switch-generation $ROLLBACK_TO failed"; say phase done; exit 0; fi
    gen=$(gen_now); STORE=$(real "$PROFILE"); say store_path "$STORE" ;;
esac
say generation "$gen"

say phase activating
if [ "$MODE" = rollback ]; then activate "$STORE" "$ROLLBACK_ACTIVATION"; else activate "$STORE" "$MODE"; fi
rc=$?
say exit_code "$rc"
case $rc in 0|100) ok=1 ;; *) ok=0 ;; esac

if [ "$MODE" = rollback ]; then
  if [ "$ok" = 1 ] && [ -n "$prev_gen" ] && [ "$prev_gen" -gt "$ROLLBACK_TO" ]; then
    nixenv --delete-generations "$prev_gen" && say deleted_generation "$prev_gen"
  fi
  say phase done; exit 0
fi

if [ "$ok" = 1 ] && [ "$CONFIRM_TIMEOUT" -gt 0 ] && { [ "$MODE" = switch ] || [ "$MODE" = test ]; }; then
  say phase awaiting-confirmation
  deadline=$(( $(date +%s) + CONFIRM_TIMEOUT ))
  while [ ! -L "$DEC" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
  ln -s timeout "$DEC" 2>/dev/null
  if [ "$(readlink "$DEC")" = confirmed ]; then say confirmed yes; else say confirmed no; ok=0; fi
fi

if [ "$ok" = 0 ] && [ "$MODE" != dry-activate ] && [ "$ROLLBACK" = 1 ]; then rollback; fi
say phase done
'''


def job(unit, mode, store_path, profile, nix_env, timeout, confirm_timeout, rollback, rollback_to=None,
        on_inhibited='fail', install_bootloader=False, inhibitors=(), rollback_activation='switch'):
    """The transaction the transient unit runs: lock, check the switch inhibitors, set the profile,
    activate, wait for the confirmation, roll back; each step appended to /run/nixkit/UNIT.result."""
    values = dict(UNIT=unit, MODE=mode, STORE=store_path or '', PROFILE=profile, NIX_ENV=nix_env or '',
                  TIMEOUT=str(int(timeout)), CONFIRM_TIMEOUT=str(int(confirm_timeout)),
                  ROLLBACK='1' if rollback else '0', ROLLBACK_TO='' if rollback_to is None else str(int(rollback_to)),
                  ROLLBACK_ACTIVATION=rollback_activation,
                  ON_INHIBITED=on_inhibited, INSTALL_BOOTLOADER='1' if install_bootloader else '0',
                  INHIBITORS=', '.join(inhibitors) or 'see the log', D=STATE_DIR)
    return ('# nixkit.nix.nixos_switch job %s\n' % unit + _assign(NIXKIT_PATH=NIX_PATH, **values)
            + _JOB_BODY.lstrip('\n'))
