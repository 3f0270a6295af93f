#!/usr/bin/env bash
# The whole test pipeline: unit, sanity, lint, build, and the molecule scenarios on lab hosts.
#   scripts/test.sh                 everything (what CI runs)
#   scripts/test.sh unit lint       only those stages
#   MOLECULE_SCENARIOS="nix_conf" scripts/test.sh molecule
#   scripts/test.sh bench           every benchmarks/*.sh in its smoke size (SMOKE=1)
# Every stage runs even when an earlier one failed; the exit code is non-zero if any failed.
# shellcheck disable=SC2317  # the stage_* functions are called indirectly, as "stage_$stage"
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD

bash scripts/setup.sh || exit 1
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

# Everything this run makes lives under one temporary directory, removed on any exit; lab hosts
# carry this run's id so two runs on one machine cannot collide, and are removed on any exit.
run_id="t$(date +%s | tail -c 5)$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/nixkit-test.XXXXXX")
cleanup() {
  python3 tests/lab/nixlab.py down --prefix "$run_id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stage_unit() {
  python -m pytest -q -p no:cacheprovider tests/unit
}

# ansible-test wants the collection at ansible_collections/NAMESPACE/NAME: test a copy there.
collection_copy() {
  local dest="$work/collections/ansible_collections/nixkit/nix"
  if [ ! -d "$dest" ]; then
    mkdir -p "$dest"
    git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$dest"
  fi
  echo "$dest"
}

stage_sanity() {
  # Its own venv: ansible-test installs pinned tool versions that must not disturb ansible-lint.
  local venv="$root/.build/sanity-venv"
  if [ ! -x "$venv/bin/ansible-test" ]; then
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q "$(grep '^ansible-core' tests/requirements.txt)" 2>&1 | grep -v 'is ignored: it is neither'
    [ -x "$venv/bin/ansible-test" ] || return 1
  fi
  # ansible-test keeps its tool venvs under ~/.ansible/test: give it a home of this checkout's own,
  # so two checkouts testing at once cannot remove each other's venvs.
  local home="$root/.build/ansible-test-home"
  # It also fetches a pip bootstrap script from a host outside the package registries; put our
  # stand-in where it looks first.
  local pip_version
  pip_version=$(grep -ho "pip='[0-9.]*'" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1 | tr -dc '0-9.')
  mkdir -p "$home/.ansible/test/cache"
  cp tests/sanity/get_pip_offline.py "$home/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  local python_version
  python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  (cd "$(collection_copy)" && HOME="$home" "$venv/bin/ansible-test" sanity --local --requirements --python "$python_version" 2>&1 |
     grep -v -e 'is ignored: it is neither' -e '^Collecting\|^  Downloading\|^Processing\|━' )
}

stage_lint() {
  ansible-lint --offline --profile production
}

stage_build() {
  # Build, install the tarball into an empty collections path, and read its docs from there only.
  local out="$work/build"
  mkdir -p "$out"
  touch "$out/ansible.cfg"  # no settings: only the installed copy is visible
  ansible-galaxy collection build --output-path "$out" . || return 1
  ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-galaxy collection install --offline --force \
    -p "$out/installed" "$out"/nixkit-nix-*.tar.gz || return 1
  local doc kind name
  for doc in module:nixkit.nix.nix_conf role:nixkit.nix.nix_install; do
    kind=${doc%%:*} name=${doc#*:}
    # ansible-doc exits 0 with only a warning when it finds nothing: look for the doc's own heading.
    ANSIBLE_CONFIG="$out/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$out/installed" ANSIBLE_NOCOLOR=1 \
      ansible-doc -t "$kind" "$name" 2>/dev/null >"$out/doc.txt"
    grep -q "^> [A-Z: ]*[*]\?${name}[*]\? (" "$out/doc.txt" ||
      { echo "build: ansible-doc cannot show the installed $kind $name"; return 1; }
  done
  echo "build: $(basename "$out"/nixkit-nix-*.tar.gz) installs; ansible-doc shows its module and role"
}

stage_molecule() {
  # Scenario hosts are named after this run (see extensions/molecule/*/create.yml).
  export NIXKIT_LAB_PREFIX="$run_id"
  local scenarios=() scenario failed=0
  if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
    read -r -a scenarios <<<"$MOLECULE_SCENARIOS"
  else
    for scenario in extensions/molecule/*/molecule.yml; do scenarios+=("$(basename "$(dirname "$scenario")")"); done
  fi
  for scenario in "${scenarios[@]}"; do
    echo "--- molecule scenario: $scenario"
    (cd extensions && MOLECULE_EPHEMERAL_DIRECTORY="$work/molecule/$scenario" molecule test -s "$scenario") || failed=1
  done
  return "$failed"
}

stage_nixmatrix() {
  # The Nix matrix: scenarios on Debian sid's Nix (lab variant nixsid, NIXKIT_LAB_NIX=sid) after the
  # molecule stage ran them on trixie's 2.26. By hand: `scripts/test.sh nixmatrix` runs farm, cache
  # and nixos_deploy; NIXMATRIX_SCENARIOS picks others. The default pipeline runs only
  # ${NIXMATRIX_SCENARIOS} as set in the default stage list below. Own run ids and molecule
  # directories ($run_id-sid-*), so the runs cannot meet the trixie ones of the molecule stage.
  local scenarios scenario failed=0 start image nix_version
  read -r -a scenarios <<<"${NIXMATRIX_SCENARIOS:-farm cache nixos_deploy}"
  python3 tests/lab/nixlab.py image --variant nixsid || return 1
  image=$(python3 -c 'import sys; sys.path.insert(0, "tests/lab"); import nixlab; print(nixlab.image_name("nixsid"))')
  nix_version=$(CONTAINERS_CONF=tests/lab/containers.conf podman run --rm --network none "$image" nix --version)
  for scenario in "${scenarios[@]}"; do
    echo "--- molecule scenario on ${nix_version:-sid}: $scenario"
    start=$SECONDS
    if (cd extensions && NIXKIT_LAB_NIX=sid NIXKIT_LAB_PREFIX="$run_id-sid" \
          MOLECULE_EPHEMERAL_DIRECTORY="$work/molecule-sid/$scenario" molecule test -s "$scenario"); then
      echo "--- nix matrix: $scenario on ${nix_version:-sid}: passed ($((SECONDS - start)) s)"
    else
      echo "--- nix matrix: $scenario on ${nix_version:-sid}: FAILED ($((SECONDS - start)) s)"
      failed=1
    fi
  done
  return "$failed"
}

stage_bench() {
  # Every benchmark in its smoke size (SMOKE=1): it must still run; no figure is checked. Their lab
  # runs are named after this run (removed with it) and their files live in $work.
  local script failed=0 start
  for script in benchmarks/*.sh; do
    echo "--- benchmark (smoke): $script"
    start=$SECONDS
    SMOKE=1 NIXKIT_LAB_PREFIX="$run_id" TMPDIR="$work" bash "$script" || { echo "FAILED: $script"; failed=1; }
    echo "--- $script: $((SECONDS - start)) s"
  done
  return "$failed"
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(unit sanity lint build molecule bench)
declare -A result
overall=0
for stage in "${stages[@]}"; do
  echo "=== $stage"
  start=$SECONDS
  if "stage_$stage"; then result[$stage]="passed"; else result[$stage]="FAILED"; overall=1; fi
  result[$stage]+=" ($((SECONDS - start)) s)"
done

echo "=== summary"
passed=0 failed=0
for stage in "${stages[@]}"; do
  echo "  $stage: ${result[$stage]}"
  case ${result[$stage]} in passed*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo "stages: $passed passed, $failed failed"
exit $overall
