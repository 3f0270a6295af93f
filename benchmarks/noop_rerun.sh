#!/usr/bin/env bash
# Benchmark (not a test): what a no-op re-run of site.yml costs, next to a minimal hand-written
# playbook that keeps the same files on the same hosts (benchmarks/noop_rerun_by_hand.yml: nix.conf's
# lines, the builder and client settings files, machines file, build user's authorized_keys, root's SSH
# key and known_hosts, signing keys, descriptors, ssh_config drop-in; copy/lineinfile/file only).
# Brings up client1 (nix_clients) and builder1, builder2 (nix_builders), converges them with site.yml
# (not timed), reads the files back for the hand-written playbook, then alternates N rounds of
# site.yml and the hand-written playbook, printing each wall time, both medians and their ratio.
# Fails when a site.yml re-run reports a change (changed=N in its recap), naming the tasks.
# site.yml runs from a private install of this checkout (nixkit.nix.site), so edits made meanwhile in
# the working tree, .build or a repo-root collections/ directory do not change what is measured.
# Cleans up the lab on exit.
#   [SMOKE=1] benchmarks/noop_rerun.sh [--rounds N] [--smoke] [--keep] [--profile]
#     --rounds N  rounds of each playbook (default 5)
#     --smoke     one round (also SMOKE=1, as scripts/test.sh bench runs it)
#     --keep      leave the lab and the logs; prints how to remove them
#     --profile   one more site.yml no-op with ansible-core's junit callback, then its costliest tasks
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '/^#   benchmarks/,/^#     --profile/s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }
rounds=5 keep='' profile=''
[ "${SMOKE:-}" = 1 ] && rounds=1
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) [ $# -ge 2 ] || usage; rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#--rounds=}; shift ;;
    --smoke) rounds=1; shift ;;
    --keep) keep=1; shift ;;
    --profile) profile=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "--rounds wants a positive number, not '$rounds'" >&2; exit 2; }

KEEP=${keep:-${KEEP:-}}
# shellcheck source=benchmarks/lib/lab.sh
. benchmarks/lib/lab.sh
bench_lab bnoop
cp tests/lab/lab-vars.yml "$state/lab-vars.yml"
cp benchmarks/noop_rerun_by_hand.yml "$state/by_hand.yml"
tree="$(git rev-parse --short HEAD 2>/dev/null || echo '?') with $(git status --porcelain 2>/dev/null | grep -c . || true) changed or new"

python3 tests/lab/nixlab.py up --run "$run" --state-dir "$state/lab" \
  --host client1=nix_clients --host builder1=nix_builders --host builder2=nix_builders >/dev/null
inv="$state/lab/inventory.yml"

took=0 changed=0
timed() {  # log, ansible-playbook arguments...; sets took (wall seconds) and changed (sum of the recap)
  local log=$1 t0 t1
  shift
  t0=$(now)
  ansible-playbook "$@" >"$log" 2>&1 || { tail -30 "$log" >&2; echo "FAIL: ansible-playbook $* (log: $log)" >&2; exit 1; }
  t1=$(now)
  took=$(python3 -c "print('%.1f' % ($t1 - $t0))")
  changed=$(awk '/^PLAY RECAP/ {r = 1; next}
    r && /changed=/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}}
    END {print s + 0}' "$log")
}
changed_tasks() { awk '/^(TASK|RUNNING HANDLER) \[/ {t = $0; sub(/ \*+$/, "", t)} /^changed: / {print "  " $2 " " t}' "$1"; }
recap() {  # per host: ok= and skipped= of the recap
  awk '/^PLAY RECAP/ {r = 1; next}
    r && NF {s = sep $1; for (i = 2; i <= NF; i++) if ($i ~ /^(ok|skipped)=/) s = s " " $i; printf "%s", s; sep = ", "}' "$1"
}
activity() {  # what else runs on this machine: load, other lab runs, other ansible-playbook runs
  local load labs plays
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  labs=$(python3 tests/lab/nixlab.py list | awk -v me="$run" 'NR > 1 && $1 != me {print $1}' | sort -u | paste -sd' ' -)
  # Ansible's forked workers carry their parent's command line: count the parents only.
  plays=$(ps -eo pid=,ppid=,args= | awk '$0 ~ /[a]nsible-playbook/ {p[$1] = $2} END {n = 0; for (i in p) if (!(p[i] in p)) n++; print n}')
  printf '%s: load %s on %s CPUs; other lab runs: %s; other ansible-playbook runs: %s\n' \
    "$1" "$load" "$(nproc)" "${labs:-none}" "$plays"
}
site() { timed "$1" -i "$inv" -e @"$state/lab-vars.yml" nixkit.nix.site; }
by_hand() { timed "$1" -i "$inv" -e noop_expected_dir="$state/expected" "$state/by_hand.yml" "${@:2}"; }

site "$state/converge.log"
converge=$took
by_hand "$state/read_back.log" --tags read_back

printf 'lab: client1 (nix_clients), builder1 and builder2 (nix_builders); collection: working tree, %s file(s)\n' "$tree"
printf 'converge (site.yml, not timed): %s s\n' "$converge"
activity 'before the timed rounds'
printf '%-8s %18s %12s\n' round 'site.yml (no-op)' 'by hand'
# A timed run that changed something measured the wrong thing: stop and name the tasks.
unchanged() {
  [ "$changed" = 0 ] && return 0
  echo "FAIL: $2:" >&2
  changed_tasks "$1" >&2
  exit 1
}

site_times=() hand_times=()
for ((i = 1; i <= rounds; i++)); do
  site "$state/site-$i.log"
  unchanged "$state/site-$i.log" "site.yml re-run $i reported changed=$changed on hosts that site.yml had just converged (a bug)"
  site_times+=("$took")
  by_hand "$state/hand-$i.log"
  unchanged "$state/hand-$i.log" "the hand-written playbook reported changed=$changed in round $i: its files no longer match site.yml's"
  hand_times+=("$took")
  printf '%-8s %16s s %10s s\n' "$i" "${site_times[-1]}" "${hand_times[-1]}"
done
activity 'after the timed rounds'
python3 - "${site_times[*]}" "${hand_times[*]}" <<'PY'
import statistics, sys
site, hand = (statistics.median(float(t) for t in arg.split()) for arg in sys.argv[1:])
print('%-8s %16.1f s %10.1f s' % ('median', site, hand))
print('ratio (collection / by hand): %.1fx' % (site / hand))
PY
printf 'site.yml recap (tasks per host): %s\n' "$(recap "$state/site-$rounds.log")"
printf 'by-hand recap (tasks per host):  %s\n' "$(recap "$state/hand-$rounds.log")"

if [ -n "$profile" ]; then
  export ANSIBLE_CALLBACKS_ENABLED=ansible.builtin.junit JUNIT_OUTPUT_DIR="$state/junit" JUNIT_HIDE_TASK_ARGUMENTS=true
  site "$state/profile.log"
  unset ANSIBLE_CALLBACKS_ENABLED JUNIT_OUTPUT_DIR JUNIT_HIDE_TASK_ARGUMENTS
  [ "$changed" = 0 ] || { echo "FAIL: the profiled site.yml re-run reported changed=$changed" >&2; changed_tasks "$state/profile.log" >&2; exit 1; }
  python3 benchmarks/lib/junit_profile.py "$state/junit" "$took" 'one more site.yml no-op'
fi
