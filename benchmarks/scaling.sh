#!/usr/bin/env bash
# Benchmark (not a test): how site.yml and a deploy cost per host as the fleet grows (issues 12, 14).
# For each size N: a fresh lab of builder1, builder2 (nix_builders) and c1..c(N-2) (nix_clients; for
# N = 2, builder1 and c1), then, each timed with the controller's peak memory (the summed resident set of
# ansible-playbook and its forks, sampled every 0.1 s):
#   converge:  site.yml on the fresh hosts;
#   no-op:     REPEAT more runs of site.yml, each required to change nothing (median printed; with
#              REPEAT=4 the lab converges 5 times in a row, issue 14's check);
#   farm:      playbooks/farm_check.yml: every client builds a fresh derivation with no local slots,
#              which must land on a builder (not timed);
#   deploy:    playbooks/deploy.yml to every client as a NixOS target (build on builder1, a synthetic
#              system of PARTS paths of KB kB, 2 new paths per deploy), all targets in parallel.
# For the last no-op it also prints the CPU seconds per host: c, the controller's (ansible-playbook and its
# workers), and l, the rest of the machine's busy time (the lab hosts' sshd, module runs and daemons, which
# share this machine's cores with the controller). The peer, on the same hosts after the no-ops: the
# hand-written playbook of benchmarks/noop_rerun_by_hand.yml (seed 000's files kept with builtin modules),
# timed the same way; the summary prints the collection's no-op against it.
# Forks = N (every host at once, as a run over a fleet with enough forks does). Prints one line per size
# and per-host figures relative to the smallest size; removes each lab before the next (KEEP=1 keeps
# the last). A failed run prints its log's tail and stops the benchmark.
#   [KEEP=1] [SMOKE=1] [REPEAT=1] [PARTS=8] [KB=64] benchmarks/scaling.sh [SIZE...]
# Sizes default to 4 8 16. SMOKE=1 (scripts/test.sh bench): size 4 only; it checks the script runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then sizes=("$@"); elif [ "${SMOKE:-}" = 1 ]; then sizes=(4); else sizes=(4 8 16); fi
repeat=${REPEAT:-1} parts=${PARTS:-8} kb=${KB:-64}
for n in "${sizes[@]}" "$repeat"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "sizes and REPEAT want positive numbers, not '$n'" >&2; exit 2; }
done
for n in "${sizes[@]}"; do [ "$n" -ge 2 ] || { echo "size $n: the smallest fleet is 2 (a builder and a client)" >&2; exit 2; }; done

# shellcheck source=benchmarks/lib/lab.sh
. benchmarks/lib/lab.sh
bench_lab bscale

took=0 mem=0 cpu=0 busy=0 changed=0
timed() {  # log, ansible-playbook arguments...; sets took (s), mem (peak MiB), cpu (the controller's CPU s),
           # busy (the machine's busy CPU s: controller and lab hosts), changed (sum of the recap)
  local log=$1 t0
  shift
  t0=$(now)
  python3 benchmarks/lib/peak_rss.py "$state/mem" -- ansible-playbook "$@" >"$log" 2>&1 ||
    { tail -40 "$log" >&2; echo "FAIL: ansible-playbook $* (log: $log)" >&2; exit 1; }
  took=$(python3 -c "print('%.1f' % ($(now) - $t0))")
  read -r mem cpu busy <"$state/mem"
  changed=$(awk '/^PLAY RECAP/ {r = 1; next}
    r && /changed=/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}}
    END {print s + 0}' "$log")
}

bench_deploy_vars builder1 >"$state/deploy.yml"

results=()
printf 'load before: %s on %s CPUs\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
printf '%5s %8s %11s %8s %11s %8s %9s %10s %22s %11s %17s\n' hosts clients converge 'per host' 'no-op' 'per host' deploy \
  'peak MiB' 'no-op CPU s/host c+l' 'by hand' 'its CPU s/host c+l'
for n in "${sizes[@]}"; do
  python3 tests/lab/nixlab.py down --run "$run" --state-dir "$state/lab" >/dev/null 2>&1 || true
  builders=(builder1) clients=()
  [ "$n" -gt 2 ] && builders+=(builder2)
  for ((i = 1; i <= n - ${#builders[@]}; i++)); do clients+=("c$i"); done
  hosts=()
  for b in "${builders[@]}"; do hosts+=(--host "$b=nix_builders"); done
  for c in "${clients[@]}"; do hosts+=(--host "$c=nix_clients"); done
  python3 tests/lab/nixlab.py up --run "$run" --state-dir "$state/lab" "${hosts[@]}" >/dev/null
  inv="$state/lab/inventory.yml"
  # The clients are also the deploy's targets (an inventory beside the lab's, same host names).
  printf 'nixos_targets:\n  hosts:\n' >"$state/targets.yml"
  printf '    %s:\n' "${clients[@]}" >>"$state/targets.yml"
  export ANSIBLE_FORKS=$n
  # lab-vars.yml's deploy settings are for the demo's targets; this lab deploys only in its deploy step.
  site=(-i "$inv" -e @tests/lab/lab-vars.yml -e nixos_deploy_file= nixkit.nix.site)

  timed "$state/converge-$n.log" "${site[@]}"
  converge=$took peak=$mem
  noops=()
  for ((r = 1; r <= repeat; r++)); do
    timed "$state/noop-$n-$r.log" "${site[@]}"
    [ "$changed" = 0 ] || { grep -B3 '^changed:' "$state/noop-$n-$r.log" >&2
      echo "FAIL: site.yml re-run $r on $n hosts reported changed=$changed" >&2; exit 1; }
    noops+=("$took"); peak=$((mem > peak ? mem : peak))
  done
  # Where a no-op's CPU went (the last one): the controller, and the machine as a whole.
  noop_cpu=$cpu noop_busy=$busy
  noop=$(python3 -c "import statistics, sys; print('%.1f' % statistics.median(map(float, sys.argv[1:])))" "${noops[@]}")
  # The peer: seed 000 kept by hand with builtin modules on the same hosts (benchmarks/noop_rerun_by_hand.yml),
  # after reading back what site.yml wrote (not timed); it too must change nothing.
  ansible-playbook -i "$inv" -e noop_expected_dir="$state/expected-$n" benchmarks/noop_rerun_by_hand.yml \
    --tags read_back >"$state/read-back-$n.log" 2>&1 ||
    { tail -30 "$state/read-back-$n.log" >&2; echo "FAIL: reading back $n hosts for the hand-written playbook" >&2; exit 1; }
  timed "$state/by-hand-$n.log" -i "$inv" -e noop_expected_dir="$state/expected-$n" benchmarks/noop_rerun_by_hand.yml
  [ "$changed" = 0 ] || { echo "FAIL: the hand-written playbook changed $changed things on $n hosts" >&2; exit 1; }
  hand=$took hand_cpu=$cpu hand_busy=$busy

  ansible-playbook -i "$inv" playbooks/farm_check.yml >"$state/farm-$n.log" 2>&1 ||
    { tail -30 "$state/farm-$n.log" >&2; echo "FAIL: farm check on $n hosts" >&2; exit 1; }
  built=$(grep -c 'msg: c[0-9]* built .* on builder[12]$' "$state/farm-$n.log" || true)
  [ "$built" = "${#clients[@]}" ] ||
    { grep 'msg:' "$state/farm-$n.log" >&2; echo "FAIL: $built of ${#clients[@]} clients built on a builder" >&2; exit 1; }

  bench_system_nix builder1 "$kb" "$parts" 1
  timed "$state/deploy-$n.log" -i "$inv" -i "$state/targets.yml" -e @"$state/deploy.yml" \
    -e "{\"nixos_deploy_argstr\": {\"salt\": \"n$n$$\"}}" -e "nixos_deploy_report_path=$state/report-$n.json" \
    playbooks/deploy.yml
  deploy=$took; peak=$((mem > peak ? mem : peak))
  python3 - "$state/report-$n.json" "${#clients[@]}" <<'PY'
import json, sys
hosts = json.load(open(sys.argv[1]))['hosts']
bad = [h for h in hosts if h.get('status') != 'ok' or h.get('rolled_back')]
if len(hosts) != int(sys.argv[2]) or bad:
    sys.exit('FAIL: the deploy record has %d hosts (want %s); not deployed: %s' % (len(hosts), sys.argv[2], bad))
PY
  printf '%5s %8s %9s s %6.1f s %9s s %6.1f s %7s s %10s %12.2f + %5.2f %9s s %9.2f + %5.2f\n' "$n" "${#clients[@]}" \
    "$converge" "$(python3 -c "print($converge / $n)")" "$noop" "$(python3 -c "print($noop / $n)")" "$deploy" "$peak" \
    "$(python3 -c "print($noop_cpu / $n)")" "$(python3 -c "print(max(0, $noop_busy - $noop_cpu) / $n)")" \
    "$hand" "$(python3 -c "print($hand_cpu / $n)")" "$(python3 -c "print(max(0, $hand_busy - $hand_cpu) / $n)")"
  results+=("$n $converge $noop $deploy $peak $noop_cpu $hand $hand_cpu")
done
printf 'load after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${results[@]}" <<'PY'
import sys
rows = [list(map(float, r.split())) for r in sys.argv[1:]]
print('no-op against the hand-written playbook (seed 000 by hand, same hosts):')
for n, c, o, d, m, ocpu, h, hcpu in rows:
    print('  %2d hosts: wall %.2fx, controller CPU %.2fx (%.2f s per host against %.2f)'
          % (n, o / h, ocpu / hcpu if hcpu else float('inf'), ocpu / n, hcpu / n))
if len(rows) > 1:
    n0, c0, o0, d0 = rows[0][:4]
    print('relative to %d hosts (whole run; per host):' % n0)
    for n, c, o, d, m, ocpu, h, hcpu in rows[1:]:
        print('  %2d hosts: converge %.2fx (%.2fx per host), no-op %.2fx (%.2fx per host), deploy %.2fx'
              % (n, c / c0, (c / n) / (c0 / n0), o / o0, (o / n) / (o0 / n0), d / d0))
PY
