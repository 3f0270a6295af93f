#!/usr/bin/env bash
# Benchmark (not a test): one system closure deployed to 1 and to 4 targets, the targets substituting
# from a cache, against 4 targets fed by the build host alone.
# Brings up build1 (builds, uploads to the cache, deploys), cache1 (nix_cache_server) and t1..t4
# (nix_client of cache1, nixos_targets) with site.yml. The closure is PARTS paths of KB kB each plus a
# synthetic system toplevel (/bin/sh only, no nixpkgs); each round builds a fresh one (a new salt).
#   1 target / 4 targets: build on build1, upload the closure to cache1 (playbooks/cache_populate.yml),
#                         then playbooks/deploy.yml; the targets fetch the closure from cache1.
#   4 targets, no cache:  the same without the upload; build1 sends the closure to each target.
# Prints the wall time of the upload and of the deploy, and the bytes build1 sent: its network
# interface's transmit counter over the round (all traffic: SSH, Nix, Ansible's replies) and the
# sum of nix_copy's reported bytes (NAR size of the paths the targets lacked before the copy, which
# includes what they then substituted). Cleans up the lab on exit.
#   [KEEP=1] [SMOKE=1] benchmarks/deploy_fanout.sh [PARTS=8] [KB=512] [TARGETS=4]
# SMOKE=1 (scripts/test.sh bench): 2 parts of 16 kB, 1 target; it checks the script still runs, no figures.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SMOKE:-}" = 1 ]; then defaults=(2 16 1); else defaults=(8 512 4); fi
parts=${1:-${defaults[0]}} kb=${2:-${defaults[1]}} n=${3:-${defaults[2]}}
targets=$(seq -f 't%g' "$n" | paste -sd: -)

# shellcheck source=benchmarks/lib/lab.sh
. benchmarks/lib/lab.sh
bench_lab bdeploy

hosts=(--host build1=nix_clients --host cache1=nix_caches)
for t in ${targets//:/ }; do hosts+=(--host "$t=nix_clients,nixos_targets"); done
python3 tests/lab/nixlab.py up --run "$run" --state-dir "$state/lab" "${hosts[@]}" >/dev/null
inv="$state/lab/inventory.yml"
# Over tests/lab/lab-vars.yml: this lab has no nix_builders (build1 builds) and site.yml deploys nothing.
cat >"$state/vars.yml" <<'YAML'
nix_cache_server_http: false
nix_cache_server_ssh_writers: [build1]
nix_client_cache_transports: [ssh]
nixos_deploy_build_host: build1
nixos_deploy_file: ""
YAML
bench_deploy_vars build1 '[{unit: ssh.service}]' >"$state/deploy.yml"
ansible-playbook -i "$inv" -e @tests/lab/lab-vars.yml -e @"$state/vars.yml" site.yml >"$state/site.log" 2>&1 ||
  { tail -30 "$state/site.log"; exit 1; }

secs() { python3 -c "print(round($2 - $1, 1))"; }
tx() { on build1 cat /sys/class/net/eth0/statistics/tx_bytes; }

bench_system_nix build1 "$kb" 0 "$parts"

round() {  # label, salt, limit, populate (yes/no); prints one line
  local label=$1 salt=$2 limit=$3 populate=$4 top t0 t1 t2 tx0 tx1 up=0.0 bytes
  top=$(ansible -i "$inv" build1 -m nixkit.nix.nix_build -o \
    -a "{\"file\": \"/root/bench.nix\", \"attr\": \"system\", \"argstr\": {\"salt\": \"$salt\"}, \"options\": {\"substituters\": []}}" |
    grep -o '"out_paths": \["/nix/store/[^"]*' | grep -o '/nix/store/.*')
  [ -n "$top" ] || { echo "build failed" >&2; exit 1; }
  tx0=$(tx) t0=$(now)
  if [ "$populate" = yes ]; then
    ansible-playbook -i "$inv" -e @tests/lab/lab-vars.yml -e @"$state/vars.yml" -e nixkit_cache_source=build1 \
      -e "{\"nixkit_cache_paths\": [\"$top\"]}" playbooks/cache_populate.yml >"$state/populate-$salt.log" 2>&1 ||
      { tail -30 "$state/populate-$salt.log" >&2; exit 1; }
  fi
  t1=$(now)
  [ "$populate" = yes ] && up=$(secs "$t0" "$t1")
  ansible-playbook -i "$inv" -e @"$state/deploy.yml" -e "{\"nixos_deploy_argstr\": {\"salt\": \"$salt\"}}" \
    -e "nixos_deploy_report_path=$state/report-$salt.json" --limit "$limit" playbooks/deploy.yml \
    >"$state/deploy-$salt.log" 2>&1 || { tail -40 "$state/deploy-$salt.log" >&2; exit 1; }
  t2=$(now) tx1=$(tx)
  bytes=$(python3 -c "import json, sys; print(sum(h['copied_bytes'] for h in json.load(open(sys.argv[1]))['hosts']))" \
    "$state/report-$salt.json")
  printf '%-20s %9s %9s %14s %16s\n' "$label" "${up}s" "$(secs "$t1" "$t2")s" "$((tx1 - tx0))" "$bytes"
}

closure=$(on build1 sh -c "nix-build --no-out-link --option substituters '' --argstr salt size -A system /root/bench.nix >/dev/null 2>&1 &&
  nix --extra-experimental-features nix-command path-info --closure-size \$(nix-build --no-out-link --argstr salt size -A system /root/bench.nix 2>/dev/null) | awk '{print \$2}'")
printf 'closure: %d parts of %d kB + a system toplevel, %s bytes (NAR); build1 -> ssh://root@target; cache1 over ssh://nix-ssh\n' \
  "$parts" "$kb" "$closure"
printf '%-20s %9s %9s %14s %16s\n' '' 'upload' 'deploy' 'build1 tx B' 'nix_copy bytes'
round '1 target, cache' "one$$" t1 yes
if [ "$n" = 1 ]; then
  round '1 target, no cache' "bare$$" t1 no
else
  round "$n targets, cache" "four$$" "$targets" yes
  round "$n targets, no cache" "bare$$" "$targets" no
fi
