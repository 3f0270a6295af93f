#!/usr/bin/env bash
# Benchmark (not a test): what a deploy with the collection costs over the Nix work it does (issue 12).
# Brings up build1 and t1..tN (nixos_targets; no site.yml, only `substituters =`) and a synthetic system:
# PARTS paths of KB kB that stay, one that changes every round and the toplevel (/bin/sh only, no nixpkgs),
# so each deploy brings 2 new paths, as a configuration change does. Alternating rounds, each a new system:
#   by hand:    the four commands of a remote nixos-rebuild, over ssh as root from this machine (ControlMaster
#               as nixos-rebuild's): nix-build on build1, nix copy build1 -> ssh://root@TARGET,
#               nix-env -p /nix/var/nix/profiles/system --set, switch-to-configuration switch;
#               for N targets one build, then the other three per target, the targets in parallel.
#   playbook:   ansible-playbook benchmarks/deploy_by_hand.yml, the same build, copy and switch as three builtin
#               tasks (the hand-written Ansible peer), 1 or N targets.
#   collection: ansible-playbook playbooks/deploy.yml (build host build1, no health checks), 1 or N targets.
# The two ansible-playbook columns also print the controller's CPU seconds (ansible-playbook and its workers).
# Checks each target runs the new system, prints every round, the medians, the difference (collection
# minus by hand, 1 target) and the ratios. Cleans up the lab on exit.
#   [KEEP=1] [SMOKE=1] [PROFILE=1] benchmarks/deploy_overhead.sh [ROUNDS=5] [PARTS=40] [KB=256] [TARGETS=4]
# PROFILE=1: one more 1-target deploy with ansible-core's junit callback, then where its time went.
# SMOKE=1 (scripts/test.sh bench): 1 round, 2 parts of 16 kB, 2 targets; it checks the script runs, no figures.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SMOKE:-}" = 1 ]; then defaults=(1 2 16 2); else defaults=(5 40 256 4); fi
rounds=${1:-${defaults[0]}} parts=${2:-${defaults[1]}} kb=${3:-${defaults[2]}} n=${4:-${defaults[3]}}

# shellcheck source=benchmarks/lib/lab.sh
. benchmarks/lib/lab.sh
bench_lab bover

targets=() hosts=(--host build1)
for i in $(seq "$n"); do targets+=("t$i"); hosts+=(--host "t$i=nixos_targets"); done
python3 tests/lab/nixlab.py up --run "$run" --state-dir "$state/lab" "${hosts[@]}" >/dev/null
inv="$state/lab/inventory.yml"
declare -A addr
while read -r host ip; do addr[$host]=$ip; done < <(python3 tests/lab/nixlab.py list | awk -v r="$run" '$1 == r {print $2, $5}')

# ssh as nixos-rebuild does it (one master connection per host, kept 60 s), as root with the lab's key.
sshto() {
  local host=$1; shift
  ssh -F /dev/null -i "$state/lab/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$state/lab/known_hosts" -o StrictHostKeyChecking=yes \
    -o ControlMaster=auto -o ControlPath="$state/ssh-%C" -o ControlPersist=60 "root@${addr[$host]}" "$@"
}

# No substituters (no internet in the lab); nix-command on. By hand, build1's root logs in to the targets'
# root with a key of its own (id_byhand, unrestricted, as a hand-written setup has it): the collection binds
# build1's default key on the targets to an untrusted daemon session, which the legacy ssh:// copy cannot use.
for host in build1 "${targets[@]}"; do
  on "$host" sh -c 'printf "substituters =\nexperimental-features = nix-command\n" >> /etc/nix/nix.conf && systemctl restart nix-daemon.service'
done
on build1 ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_byhand
for t in "${targets[@]}"; do
  on build1 cat /root/.ssh/id_byhand.pub | on "$t" sh -c 'cat >> /root/.ssh/authorized_keys'
  on "$t" cat /etc/ssh/ssh_host_ed25519_key.pub | awk -v a="${addr[$t]}" '{print a, $1, $2}' |
    on build1 sh -c 'cat >> /root/.ssh/known_hosts'
done

bench_system_nix build1 "$kb" "$parts" 1
{ bench_deploy_vars build1 && echo "nixos_deploy_report_path: $state/report.json"; } >"$state/deploy.yml"

took=0
by_hand() {  # salt, targets...; sets took
  local salt=$1 t0 top t pids=() ok=0 pid
  shift
  t0=$(now)
  top=$(sshto build1 nix-build --no-out-link --argstr salt "$salt" -A system /root/bench.nix 2>"$state/build.err") ||
    { cat "$state/build.err" >&2; exit 1; }
  for t in "$@"; do
    (sshto build1 nix copy --to "ssh://root@${addr[$t]}?ssh-key=/root/.ssh/id_byhand" "$top" &&
      sshto "$t" nix-env -p /nix/var/nix/profiles/system --set "$top" &&
      sshto "$t" "$top/bin/switch-to-configuration" switch) >"$state/hand-$t.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || ok=1; done
  took=$(python3 -c "print('%.2f' % ($(now) - $t0))")
  [ "$ok" = 0 ] || { cat "$state"/hand-*.log >&2; echo "FAIL: deploy by hand of $salt" >&2; exit 1; }
}
cpu=0
playbook_run() {  # log, ansible-playbook arguments...; sets took (wall s) and cpu (the controller's CPU s)
  local log=$1 t0
  shift
  t0=$(now)
  python3 benchmarks/lib/peak_rss.py "$state/mem" -- ansible-playbook "$@" >"$log" 2>&1 ||
    { tail -40 "$log" >&2; echo "FAIL: ansible-playbook $*" >&2; exit 1; }
  took=$(python3 -c "print('%.2f' % ($(now) - $t0))")
  cpu=$(cut -d' ' -f2 "$state/mem")  # the line: peak MiB, the controller's CPU s, the machine's busy CPU s
}
collection() {  # salt, targets...; sets took and cpu
  local salt=$1 limit
  shift
  limit=$(IFS=:; echo "$*")
  playbook_run "$state/deploy.log" -i "$inv" -e @"$state/deploy.yml" -e "{\"nixos_deploy_argstr\": {\"salt\": \"$salt\"}}" \
    --limit "$limit" playbooks/deploy.yml
}
playbook() {  # salt, targets...; sets took and cpu
  local salt=$1 limit
  shift
  limit=$(IFS=:; echo "$*")
  playbook_run "$state/playbook.log" -i "$inv" -e "bench_salt=$salt" --limit "$limit" benchmarks/deploy_by_hand.yml
}
running() {  # salt, targets...: each target's /run/current-system is that system
  local salt=$1 t
  shift
  for t in "$@"; do
    sshto "$t" readlink -f /run/current-system | grep -q -- "-nixos-system-bench-$salt\$" ||
      { echo "FAIL: $t does not run the system $salt" >&2; exit 1; }
  done
}

# Warm-up (not timed): the parts that stay reach every target, both ways open their connections.
collection "warm$$" "${targets[@]}" && running "warm$$" "${targets[@]}"
playbook "warmp$$" "${targets[@]}" && running "warmp$$" "${targets[@]}"
by_hand "warmh$$" "${targets[@]}" && running "warmh$$" "${targets[@]}"
closure=$(on build1 sh -c "nix path-info --closure-size \$(nix-build --no-out-link --argstr salt warmh$$ -A system /root/bench.nix 2>/dev/null) | awk '{print \$2}'")
printf 'lab: build1 and %d targets; closure: %d parts of %d kB + 1 new part + toplevel, %s bytes (NAR); a deploy brings 2 new paths\n' \
  "$n" "$parts" "$kb" "$closure"
printf 'load before: %s on %s CPUs\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
printf '%-7s %11s %13s %13s %11s %13s %13s\n' round 'by hand 1' 'playbook 1' 'collection 1' "by hand $n" \
  "playbook $n" "collection $n"
h1=() p1=() c1=() hn=() pn=() cn=() p1cpu=() c1cpu=() pncpu=() cncpu=()
for ((r = 1; r <= rounds; r++)); do
  by_hand "h1r$r$$" t1 && running "h1r$r$$" t1 && h1+=("$took")
  playbook "p1r$r$$" t1 && running "p1r$r$$" t1 && p1+=("$took") p1cpu+=("$cpu")
  collection "c1r$r$$" t1 && running "c1r$r$$" t1 && c1+=("$took") c1cpu+=("$cpu")
  by_hand "hnr$r$$" "${targets[@]}" && running "hnr$r$$" "${targets[@]}" && hn+=("$took")
  playbook "pnr$r$$" "${targets[@]}" && running "pnr$r$$" "${targets[@]}" && pn+=("$took") pncpu+=("$cpu")
  collection "cnr$r$$" "${targets[@]}" && running "cnr$r$$" "${targets[@]}" && cn+=("$took") cncpu+=("$cpu")
  printf '%-7s %9s s %11s s %11s s %9s s %11s s %11s s\n' "$r" "${h1[-1]}" "${p1[-1]}" "${c1[-1]}" "${hn[-1]}" \
    "${pn[-1]}" "${cn[-1]}"
done
printf 'load after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$n" "${h1[*]}" "${p1[*]}" "${c1[*]}" "${hn[*]}" "${pn[*]}" "${cn[*]}" \
  "${p1cpu[*]}" "${c1cpu[*]}" "${pncpu[*]}" "${cncpu[*]}" <<'PY'
import statistics, sys
n = sys.argv[1]
h1, p1, c1, hn, pn, cn, p1cpu, c1cpu, pncpu, cncpu = (
    statistics.median(float(t) for t in arg.split()) for arg in sys.argv[2:])
print('%-7s %9.2f s %11.2f s %11.2f s %9.2f s %11.2f s %11.2f s' % ('median', h1, p1, c1, hn, pn, cn))
print('controller CPU (median): playbook 1 %.2f s, collection 1 %.2f s; playbook %s %.2f s, collection %s %.2f s'
      % (p1cpu, c1cpu, n, pncpu, n, cncpu))
print('collection - by hand, 1 target: %.2f s' % (c1 - h1))
print('collection / by hand: 1 target %.1fx, %s targets %.1fx' % (c1 / h1, n, cn / hn))
print('collection / playbook: 1 target %.1fx (controller CPU %.1fx), %s targets %.1fx (controller CPU %.1fx)'
      % (c1 / p1, c1cpu / p1cpu, n, cn / pn, cncpu / pncpu))
print('%s targets in parallel / 1 target: collection %.2fx, playbook %.2fx, by hand %.2fx'
      % (n, cn / c1, pn / p1, hn / h1))
PY

if [ "${PROFILE:-}" = 1 ]; then
  export ANSIBLE_CALLBACKS_ENABLED=ansible.builtin.junit JUNIT_OUTPUT_DIR="$state/junit" JUNIT_HIDE_TASK_ARGUMENTS=true
  collection "p1$$" t1 && running "p1$$" t1
  unset ANSIBLE_CALLBACKS_ENABLED JUNIT_OUTPUT_DIR JUNIT_HIDE_TASK_ARGUMENTS
  python3 benchmarks/lib/junit_profile.py "$state/junit" "$took" 'one more deploy to 1 target'
fi
