# shellcheck shell=bash
# Sourced by benchmarks/*.sh (not run alone): the lab set-up they share. Call from the repo root.
#   bench_lab NAME     sets $run (lab run id, named after the test run when NIXKIT_LAB_PREFIX is set)
#                      and $state (a private temporary directory); on exit both go away (KEEP=1 keeps
#                      them and prints how to remove them); exports PATH, ANSIBLE_CONFIG (the
#                      collection's ansible.cfg) and a private install of this checkout, so edits made
#                      meanwhile in the working tree or .build do not change what is measured.
#   on HOST CMD...     runs CMD as root on a lab host of this run
#   now                wall clock in seconds (float)
#   bench_system_nix HOST KB STABLE CHANGING
#                      writes /root/bench.nix on HOST: a synthetic NixOS system (a toplevel whose
#                      switch-to-configuration only points /run/current-system at it, no nixpkgs) with
#                      STABLE parts of KB kB that stay the same and CHANGING parts that differ per `salt`
#                      argument, so a deploy of a new salt brings CHANGING + 1 new paths.
#   bench_deploy_vars BUILD_HOST [HEALTH_CHECKS_YAML]
#                      prints the nixos_deploy variables that deploy /root/bench.nix built on BUILD_HOST
#                      (no substituters: the lab has no internet); health checks default to none.

bench_lab() {
  [ -x .venv/bin/ansible ] || bash scripts/setup.sh >/dev/null
  run="${NIXKIT_LAB_PREFIX:+$NIXKIT_LAB_PREFIX-}$1$$"
  state=$(mktemp -d "${TMPDIR:-/tmp}/nixkit-bench.XXXXXX")
  if [ -n "${KEEP:-}" ]; then
    trap 'echo "kept: $state; remove with: python3 tests/lab/nixlab.py down --run $run --state-dir $state/lab"' EXIT
  else
    trap 'python3 tests/lab/nixlab.py down --run "$run" --state-dir "$state/lab" >/dev/null 2>&1; rm -rf "$state"' EXIT
  fi
  trap 'exit 130' INT
  trap 'exit 143' TERM
  export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$state/collections"
  export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1
  ansible-galaxy collection install --offline --force -p "$state/collections" . >/dev/null
}

on() { local host=$1; shift; python3 tests/lab/nixlab.py exec --run "$run" "$host" -- "$@"; }
now() { date +%s.%N; }

bench_system_nix() {
  local host=$1 kb=$2 stable=$3 changing=$4
  on "$host" sh -c "cat > /root/bench.nix" <<NIX
{ salt }:
let
  part = name: builtins.derivation {
    name = "part-\${name}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/bin:/usr/bin";
    args = [ "-c" "mkdir \$out && head -c ${kb}000 /dev/urandom > \$out/blob" ];
  };
  parts = builtins.genList (i: part (toString i)) ${stable}
    ++ builtins.genList (i: part "\${salt}-\${toString i}") ${changing};
  script = ''
    #!/bin/sh
    top=\$(dirname "\$(dirname "\$(readlink -f "\$0")")")
    case "\$1" in switch|test) ln -sfn "\$top" /run/current-system ;; esac
  '';
in {
  system = builtins.derivation {
    name = "nixos-system-bench-\${salt}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/bin:/usr/bin";
    inherit parts script;
    args = [ "-c" "mkdir -p \$out/bin && echo \$parts > \$out/parts && printf '%s' \"\$script\" > \$out/bin/switch-to-configuration && chmod 755 \$out/bin/switch-to-configuration" ];
  };
}
NIX
}

bench_deploy_vars() {
  printf '%s\n' 'nixos_deploy_build_on: build_host' "nixos_deploy_build_host: $1" 'nixos_deploy_file: /root/bench.nix' \
    'nixos_deploy_attr: system' 'nixos_deploy_build_options: {substituters: []}' "nixos_deploy_health_checks: ${2:-[]}"
}
