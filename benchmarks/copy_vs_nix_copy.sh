#!/usr/bin/env bash
# Benchmark (not a test): what nixkit.nix.nix_copy costs over a plain `nix copy`.
# Brings up two lab hosts (src, dst), builds on src a signed closure of NODES small paths in a tree
# (every EVERY-th one carries BIG_KB kB, so the closure is several MB) plus one top path that refers to
# all of them, and copies it to dst over ssh-ng:// (dst trusts the signing key): once with
# `ansible -m nixkit.nix.nix_copy` and once with `nix copy` (through `nixlab.py exec`), each into an empty
# destination store, then once more each when everything is already there, REPEAT times.
# Prints the median times and their ratios.
# Cleans up the lab on exit.
#   [SMOKE=1] benchmarks/copy_vs_nix_copy.sh [NODES=300] [BIG_KB=300] [EVERY=10] [REPEAT=3]
# SMOKE=1 (scripts/test.sh bench): 20 nodes, 16 kB, 1 run; it checks the script still runs, no figures.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SMOKE:-}" = 1 ]; then defaults=(20 16 10 1); else defaults=(300 300 10 3); fi
nodes=${1:-${defaults[0]}} big_kb=${2:-${defaults[1]}} every=${3:-${defaults[2]}} repeat=${4:-${defaults[3]}}

[ -x .venv/bin/ansible ] || bash scripts/setup.sh >/dev/null
run="${NIXKIT_LAB_PREFIX:+$NIXKIT_LAB_PREFIX-}bcopy$$" state=$(mktemp -d "${TMPDIR:-/tmp}/nixkit-bench.XXXXXX")
trap 'python3 tests/lab/nixlab.py down --run "$run" --state-dir "$state/lab" >/dev/null 2>&1; rm -rf "$state"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A private install of this checkout, so the benchmark measures the working tree and leaves .build alone.
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$state/collections"
ansible-galaxy collection install --offline --force -p "$state/collections" . >/dev/null

python3 tests/lab/nixlab.py up --run "$run" --state-dir "$state/lab" --host src --host dst >/dev/null
on() { local host=$1; shift; python3 tests/lab/nixlab.py exec --run "$run" "$host" -- "$@"; }
now() { date +%s.%N; }
secs() { python3 -c "print(round($2 - $1, 2))"; }

# No substituters (no internet in the lab); nix-command on; src's root may log in to dst's root.
for host in src dst; do
  on "$host" sh -c 'printf "substituters =\nexperimental-features = nix-command\n" >> /etc/nix/nix.conf'
done
on src sh -c 'ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519 && nix key generate-secret --key-name bench-1 > /root/bench.sec'
on src cat /root/.ssh/id_ed25519.pub | on dst sh -c 'cat >> /root/.ssh/authorized_keys'
on dst cat /etc/ssh/ssh_host_ed25519_key.pub | awk '{print "dst", $1, $2}' | on src sh -c 'cat > /root/.ssh/known_hosts'
pub=$(on src sh -c 'nix key convert-secret-to-public < /root/bench.sec')
on dst sh -c "printf 'trusted-public-keys = %s\n' '$pub' >> /etc/nix/nix.conf"
for host in src dst; do on "$host" systemctl restart nix-daemon.service; done

on src sh -c "cat > /root/bench.nix" <<NIX
let
  mk = name: kb: deps: builtins.derivation {
    inherit name deps;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/bin:/usr/bin";
    args = [ "-c" "mkdir \$out && echo \$deps > \$out/deps && head -c \${toString kb}000 /dev/urandom > \$out/blob" ];
  };
  nodes = builtins.genList (i: mk "node-\${toString i}" (if i - (i / ${every}) * ${every} == 0 then ${big_kb} else 1)
    (if i == 0 then [ ] else [ (builtins.elemAt nodes ((i - 1) / 2)) ])) ${nodes};
in mk "top" 1 nodes
NIX
top=$(on src nix-build --no-out-link --max-jobs 4 /root/bench.nix 2>"$state/build.err") ||
  { tail -20 "$state/build.err" >&2; exit 1; }
on src nix store sign --recursive --key-file /root/bench.sec "$top" 2>"$state/sign.err" || { cat "$state/sign.err" >&2; exit 1; }
count=$(on src nix-store -qR "$top" | wc -l)
size=$(on src nix path-info --closure-size "$top" | awk '{print $2}')

to=ssh-ng://root@dst
missing_on_dst() { on src sh -c "nix-store --store $to --check-validity --print-invalid \$(nix-store -qR $top) | wc -l"; }
empty_dst() { on dst sh -c "nix-store --delete \$(nix-store -qR $top 2>/dev/null | grep .) >/dev/null 2>&1 || true"; }
timed_module() {  # prints seconds; the output is kept for the caller to check
  local start end
  start=$(now)
  ansible -i "$state/lab/inventory.yml" src -m nixkit.nix.nix_copy \
    -a "{\"paths\": [\"$top\"], \"to\": \"$to\"}" >"$state/module.out" 2>&1 || { cat "$state/module.out" >&2; exit 1; }
  end=$(now)
  secs "$start" "$end"
}
timed_nix() {
  local start end
  start=$(now)
  on src nix copy --to "$to" "$top" 2>"$state/copy.err" || { cat "$state/copy.err" >&2; exit 1; }
  end=$(now)
  secs "$start" "$end"
}
must_be_complete() { [ "$(missing_on_dst)" = 0 ] || { echo "dst is missing paths after $1" >&2; exit 1; }; }

median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

# Warm-up: read every NAR once on src, open ansible's SSH connection, then start from an empty dst.
timed_nix >/dev/null
ansible -i "$state/lab/inventory.yml" src -m ansible.builtin.command -a true >/dev/null
empty_dst
[ "$(missing_on_dst)" = "$count" ] || { echo "could not empty dst" >&2; exit 1; }

declare -a module_fresh nix_fresh module_noop nix_noop floor
for _ in $(seq "$repeat"); do
  module_fresh+=("$(timed_module)"); must_be_complete "nix_copy"
  grep -q 'CHANGED' "$state/module.out" || { cat "$state/module.out" >&2; exit 1; }
  module_noop+=("$(timed_module)")
  grep -q 'SUCCESS' "$state/module.out" || { cat "$state/module.out" >&2; exit 1; }
  empty_dst
  nix_fresh+=("$(timed_nix)"); must_be_complete "nix copy"
  nix_noop+=("$(timed_nix)")
  empty_dst
  start=$(now)
  ansible -i "$state/lab/inventory.yml" src -m ansible.builtin.command -a true >/dev/null
  floor+=("$(secs "$start" "$(now)")")
done
mf=$(median "${module_fresh[@]}") nf=$(median "${nix_fresh[@]}")
mn=$(median "${module_noop[@]}") nn=$(median "${nix_noop[@]}") fl=$(median "${floor[@]}")

printf 'closure: %d paths, %s bytes (NAR), ssh-ng:// between two lab hosts; median of %d runs\n' \
  "$count" "$size" "$repeat"
printf '%-34s %8s %8s %8s\n' '' 'nix_copy' 'nix copy' 'ratio'
printf '%-34s %7.2fs %7.2fs %7.2fx\n' 'into an empty destination' "$mf" "$nf" "$(python3 -c "print($mf / $nf)")"
printf '%-34s %7.2fs %7.2fs %7.2fx\n' 'everything already there (no-op)' "$mn" "$nn" "$(python3 -c "print($mn / $nn)")"
printf '%-34s %7.2fs   (what any ansible ad-hoc task costs here)\n' 'ansible -m command true' "$fl"
