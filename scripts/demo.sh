#!/usr/bin/env bash
# The main job on this machine: bring up lab hosts (real systemd, sshd, Nix in podman), run
# site.yml against them over SSH, print what each host is now, and take the lab down again.
#   scripts/demo.sh            run and clean up
#   scripts/demo.sh --keep     leave the hosts up; the script prints how to reach and remove them
# Extra arguments after -- go to ansible-playbook, e.g. scripts/demo.sh -- --check --diff
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

keep=false
if [ "${1:-}" = "--keep" ]; then keep=true; shift; fi
[ "${1:-}" = "--" ] && shift

bash scripts/setup.sh
export PATH="$root/.venv/bin:$PATH" ANSIBLE_CONFIG="$root/ansible.cfg"

run="demo$(date +%s | tail -c 5)$$"
state=$(mktemp -d "${TMPDIR:-/tmp}/nixkit-demo.XXXXXX")
cleanup() {
  if [ "$keep" = false ]; then
    python3 tests/lab/nixlab.py down --run "$run" --state-dir "$state/lab" >/dev/null 2>&1 || true
    rm -rf "$state"
  fi
}
trap cleanup EXIT

# Two hosts come with Debian's Nix already installed, two without: the role installs it there.
python3 tests/lab/nixlab.py up --run "$run" --state-dir "$state/lab" \
  --host builder1:nix=nix_builders --host cache1:nix=nix_caches \
  --host client1:bare=nix_clients --host target1:bare=nixos_targets

ansible-playbook -i "$state/lab/inventory.yml" tests/lab/demo_prepare.yml
ansible-playbook -i "$state/lab/inventory.yml" -e @tests/lab/lab-vars.yml \
  -e nixos_deploy_report_path="$state/deploy-report.json" site.yml "$@"
# A build on the client that has to run on the builder, and a path the client fetches from the
# cache instead of building it (both skipped for a --check run).
case " $* " in *" --check "* | *" -C "*) ;; *)
  ansible-playbook -i "$state/lab/inventory.yml" playbooks/farm_check.yml
  ansible-playbook -i "$state/lab/inventory.yml" -e @tests/lab/lab-vars.yml playbooks/cache_check.yml
  echo "Deployment report (nixos_deploy):"
  cat "$state/deploy-report.json" ;;
esac

if [ "$keep" = true ]; then
  cat <<EOF

The lab is still up. Reach it with:
  ansible -i $state/lab/inventory.yml all -m ping
  python3 tests/lab/nixlab.py exec --run $run client1 -- nix --version
Remove it with:
  python3 tests/lab/nixlab.py down --run $run --state-dir $state/lab
EOF
fi
