#!/usr/bin/env bash
# Benchmark (not a test): how much a 2-builder farm speeds up a client's builds.
# Brings up a client and two builders (2 jobs each) with site.yml, then builds 8 independent
# derivations that each sleep 3 s, once on the farm (client max-jobs 0) and once locally with one
# job, and prints both wall times and the speedup. Cleans up the lab on exit.
#   [SMOKE=1] benchmarks/farm_speedup.sh [JOBS=8] [SLEEP=3]
# SMOKE=1 (scripts/test.sh bench): 2 derivations of 1 s; it checks the script still runs, no figures.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SMOKE:-}" = 1 ]; then defaults=(2 1); else defaults=(8 3); fi
jobs=${1:-${defaults[0]}} sleep_s=${2:-${defaults[1]}}

[ -x .venv/bin/ansible ] || bash scripts/setup.sh >/dev/null
run="${NIXKIT_LAB_PREFIX:+$NIXKIT_LAB_PREFIX-}bfarm$$" state=$(mktemp -d "${TMPDIR:-/tmp}/nixkit-bench.XXXXXX")
trap 'python3 tests/lab/nixlab.py down --run "$run" --state-dir "$state/lab" >/dev/null 2>&1; rm -rf "$state"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A private install of this checkout, so the benchmark measures the working tree and leaves .build alone.
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$state/collections"
ansible-galaxy collection install --offline --force -p "$state/collections" . >/dev/null

python3 tests/lab/nixlab.py up --run "$run" --state-dir "$state/lab" \
  --host client1=nix_clients --host builder1=nix_builders --host builder2=nix_builders >/dev/null
ansible-playbook -i "$state/lab/inventory.yml" -e @tests/lab/lab-vars.yml \
  -e '{"nix_builder_max_jobs": 2, "nix_client_max_jobs": 0}' site.yml >"$state/site.log" ||
  { tail -30 "$state/site.log"; exit 1; }

on_client() { python3 tests/lab/nixlab.py exec --run "$run" client1 -- "$@"; }
on_client sh -c "cat > /tmp/bench.nix" <<NIX
{ salt }: builtins.genList (i: builtins.derivation {
  name = "sleep-\${salt}-\${toString i}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  PATH = "/bin:/usr/bin";
  args = [ "-c" "sleep ${sleep_s}; hostname > \$out" ];
}) ${jobs}
NIX

timed_build() {  # salt, extra nix-build args...; prints seconds
  local salt=$1 start end
  shift
  start=$(date +%s.%N)
  on_client nix-build --no-out-link --argstr salt "$salt" /tmp/bench.nix "$@" >/dev/null 2>"$state/build.err" ||
    { cat "$state/build.err" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 2))"
}

farm=$(timed_build "farm-$$")
local_one=$(timed_build "local-$$" --builders '' --max-jobs 1)
printf 'derivations: %d x sleep %ss; farm: 2 builders x 2 jobs\n' "$jobs" "$sleep_s"
printf 'farm wall time:       %6.1f s\n' "$farm"
printf 'one local job:        %6.1f s\n' "$local_one"
printf 'speedup:              %6.2fx\n' "$(python3 -c "print($local_one / $farm)")"
