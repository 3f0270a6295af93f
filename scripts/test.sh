#!/usr/bin/env bash
# The whole test pipeline: unit, sanity, lint, build, and the molecule scenarios on lab hosts.
#   scripts/test.sh                 everything (what CI runs)
#   scripts/test.sh unit lint       only those stages
#   MOLECULE_SCENARIOS="nix_conf" scripts/test.sh molecule
#   scripts/test.sh bench           every benchmarks/*.sh in its smoke size (SMOKE=1)
#   scripts/test.sh runner          site and deploy through ansible-runner as AWX job templates
#   NIXKIT_CORE_SERIES=2.21 scripts/test.sh unit sanity   only some ansible-core series (default: all)
# unit and sanity run on every supported ansible-core series, molecule_newest runs the default
# scenario on the newest; the summary lists each series' result.
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

# The ansible-core matrix: every supported series, oldest first, with the Python it runs on.
# The oldest is the controller's own (.venv, tests/requirements.txt: lint and molecule use it);
# each series also has a venv of its own, .build/core-SERIES, from tests/requirements-core-SERIES.txt.
# NIXKIT_CORE_SERIES="2.21" runs the unit and sanity stages on only some of them.
declare -A core_python=([2.19]=3.11 [2.20]=3.12 [2.21]=3.13)
core_controller=2.19 core_newest=2.21
core_all=(2.19 2.20 2.21)
read -r -a core_series <<<"${NIXKIT_CORE_SERIES:-${core_all[*]}}"
for series in "${core_series[@]}"; do
  [ -n "${core_python[$series]:-}" ] ||
    { echo "NIXKIT_CORE_SERIES: ansible-core $series is not tested here; choose from ${core_all[*]}"; exit 2; }
done
# Per-version results for the summary: matrix[unit[2.20]]="passed (9 s)".
declare -A matrix=()

# python_for VERSION: an interpreter of that Python version, from NIXKIT_PYTHON_3_12 (for 3.12)
# if set, else pythonX.Y on PATH, else pyenv's.
python_for() {
  local want=$1 var="NIXKIT_PYTHON_${1//./_}" cand candidates=()
  if [ -n "${!var:-}" ]; then
    candidates=("${!var}")
  else
    candidates=("$(command -v "python$want" 2>/dev/null)")
    candidates+=("$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"/versions/"$want".*/bin/"python$want")
  fi
  for cand in "${candidates[@]}"; do
    # pyenv's shims exist even when they cannot run the version: ask the interpreter itself.
    if [ -n "$cand" ] && [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      echo "$cand"
      return 0
    fi
  done
  if [ -n "${!var:-}" ]; then
    echo "$var=${!var} is not a Python $want interpreter: set it to one (or unset it to search PATH and pyenv)" >&2
  else
    echo "no Python $want found (needed for ansible-core tests): install it (pyenv install $want), put python$want on PATH, or set $var to its path" >&2
  fi
  return 1
}

# core_venv SERIES: the path of that series' own venv, made or brought up to date first.
core_venv() {
  local series=$1 venv="$root/.build/core-$1" req="tests/requirements-core-$1.txt" want python
  [ -f "$req" ] || { echo "ansible-core $series: $req is missing" >&2; return 1; }
  want=$(cat "$req" tests/requirements.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
    python=$(python_for "${core_python[$series]}") || return 1
    echo "--- ansible-core $series: making $venv with Python ${core_python[$series]}" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" || return 1
    # pip's notes about local find-links directories that do not exist are noise here.
    "$venv/bin/pip" install -q -r "$req" 2>&1 | grep -v 'is ignored: it is neither' >&2
    "$venv/bin/python" -c 'import ansible' || return 1
    echo "$want" >"$venv/.requirements.sha256"
  fi
  "$venv/bin/python" -c "import sys, ansible.release as r; sys.exit(not r.__version__.startswith('$series.'))" ||
    { echo "ansible-core $series: $venv holds another ansible-core; fix $req" >&2; return 1; }
  echo "$venv"
}

# core_step STAGE SERIES COMMAND...: run the command and record its result as STAGE[SERIES].
core_step() {
  local key="$1[$2]" start=$SECONDS rc=0
  shift 2
  echo "--- $key"
  "$@" || rc=$?
  if [ "$rc" = 0 ]; then matrix[$key]="passed"; else matrix[$key]="FAILED"; fi
  matrix[$key]+=" ($((SECONDS - start)) s)"
  return "$rc"
}

unit_on() {
  local python=python venv
  if [ "$1" != "$core_controller" ]; then venv=$(core_venv "$1") || return 1; python="$venv/bin/python"; fi
  "$python" -m pytest -q -p no:cacheprovider tests/unit
}

stage_unit() {
  local series failed=0
  for series in "${core_series[@]}"; do core_step unit "$series" unit_on "$series" || failed=1; done
  return "$failed"
}

# ansible-test wants the collection at ansible_collections/NAMESPACE/NAME: test a copy there.
# collection_copy [NAME]: its path, $work/NAME (default: collections)/ansible_collections/nixkit/nix.
collection_copy() {
  local dest="$work/${1:-collections}/ansible_collections/nixkit/nix"
  if [ ! -d "$dest" ]; then
    mkdir -p "$dest"
    git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$dest"
  fi
  echo "$dest"
}

sanity_on() {
  # Its own venv: ansible-test installs pinned tool versions that must not disturb ansible-lint.
  local venv
  venv=$(core_venv "$1") || return 1
  # ansible-test keeps its tool venvs under ~/.ansible/test: give it a home of this checkout's own,
  # so two checkouts testing at once cannot remove each other's venvs. The series share it: their
  # tool venvs are keyed by Python version and requirements.
  local home="$root/.build/ansible-test-home"
  # It also fetches a pip bootstrap script from a host outside the package registries; put our
  # stand-in where it looks first.
  local pip_version
  pip_version=$(grep -ho "pip='[0-9.]*'" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1 | tr -dc '0-9.')
  [ -n "$pip_version" ] || { echo "sanity[$1]: cannot find the pip version ansible-test bootstraps"; return 1; }
  mkdir -p "$home/.ansible/test/cache"
  # Copied aside and renamed into place: another series' run may be reading it right now.
  cp tests/sanity/get_pip_offline.py "$home/.ansible/test/cache/.get_pip.$1" &&
    mv "$home/.ansible/test/cache/.get_pip.$1" "$home/.ansible/test/cache/get_pip_${pip_version//./_}.py" || return 1
  local python_version
  python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  (cd "$(collection_copy "collections-$1")" && HOME="$home" "$venv/bin/ansible-test" sanity --local --requirements --python "$python_version" 2>&1 |
     grep -v -e 'is ignored: it is neither' -e '^Collecting\|^  Downloading\|^Processing\|━' )
}

stage_sanity() {
  # The series run at once, each in a copy of the collection of its own (ansible-test writes into
  # it) with its venv, Python and tool venvs: a run spends much of its time in pip and in
  # single-threaded tests, so on two cores three at once end sooner than three in a row.
  # Each one's output is printed whole, in order, when it has ended.
  local series failed=0 pids=()
  for series in "${core_series[@]}"; do
    collection_copy "collections-$series" >/dev/null || return 1
    (
      core_step sanity "$series" sanity_on "$series"
      rc=$?
      echo "${matrix[sanity[$series]]}" >"$work/sanity-$series.result"
      exit "$rc"
    ) >"$work/sanity-$series.log" 2>&1 &
    pids+=("$!")
  done
  echo "--- sanity on ansible-core ${core_series[*]} at once; each one's output follows when it ends"
  for i in "${!core_series[@]}"; do
    series=${core_series[$i]}
    wait "${pids[$i]}" || failed=1
    cat "$work/sanity-$series.log"
    matrix["sanity[$series]"]=$(cat "$work/sanity-$series.result" 2>/dev/null || echo "FAILED (no result)")
  done
  return "$failed"
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

stage_docs() {
  # The docs site (docs/site): guides (docs/guides), the module, plugin and role reference from
  # antsibull-docs, the release notes from antsibull-changelog; sphinx-build -W fails on any warning.
  # Its tools live in a venv of their own (they pin Sphinx and docutils); nothing in the checkout changes.
  local venv="$root/.build/docs-venv"
  if [ ! -x "$venv/bin/antsibull-docs" ] || [ ! -x "$venv/bin/antsibull-changelog" ]; then
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q 'antsibull-docs>=2.16,<3' 'antsibull-changelog>=0.29' sphinx \
      'sphinx-ansible-theme>=0.9' ansible-pygments myst-parser 2>&1 | grep -v 'is ignored: it is neither'
    [ -x "$venv/bin/antsibull-docs" ] && [ -x "$venv/bin/antsibull-changelog" ] || return 1
  fi
  local out="$work/docs" src="$work/docs/src"
  mkdir -p "$src/docs/guides" "$src/collections" "$out/changelog"
  chmod og-w "$src/collections"  # antsibull-docs writes only into a directory no one else may write to
  cp -r docs/site/rst/. "$src/" && cp docs/guides/*.md "$src/docs/guides/" || return 1
  # Files of the checkout a guide links to (](../../playbooks/deploy.yml)) become downloads of the site.
  grep -ho '](\.\./[^)#[:space:]]*' docs/guides/*.md | cut -c3- | sort -u | while read -r link; do
    link=$(realpath -m --relative-to=. "docs/guides/$link")
    case $link in *.md | *.rst) ;; *) [ ! -f "$link" ] || cp --parents "$link" "$src/" ;; esac
  done
  # Release notes: lint the fragments here, release them in a copy (release deletes the fragments).
  "$venv/bin/antsibull-changelog" lint || { echo "docs: changelogs/fragments fail antsibull-changelog lint"; return 1; }
  git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$out/changelog"
  local version
  version=$(sed -n 's/^version: *//p' galaxy.yml)
  (cd "$out/changelog" && "$venv/bin/antsibull-changelog" release --version "$version" 2>&1 |
     grep -v 'Found no release_summary section') || true
  [ -s "$out/changelog/CHANGELOG.rst" ] || { echo "docs: antsibull-changelog wrote no release notes"; return 1; }
  cp "$out/changelog/CHANGELOG.rst" "$src/changelog.rst"
  # The reference, from the collection as installed (scripts/setup.sh put this checkout there).
  ANSIBLE_COLLECTIONS_PATH="$root/.build/collections" "$venv/bin/antsibull-docs" \
    --config-file docs/site/antsibull-docs.cfg collection --use-current --squash-hierarchy \
    --fail-on-error --dest-dir "$src/collections" nixkit.nix >"$out/antsibull-docs.log" 2>&1 ||
    { cat "$out/antsibull-docs.log"; return 1; }
  "$venv/bin/sphinx-build" -W --keep-going -q -b html -c docs/site "$src" "$out/html" || return 1
  echo "docs: site built without warnings ($(find "$out/html" -name '*.html' | wc -l) pages); release notes $version"
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

stage_runner() {
  # site.yml and the deploy playbook through ansible-runner as AWX job templates (docs/awx/*.json)
  # on one lab run of four hosts, named after this run (removed with it).
  NIXKIT_LAB_PREFIX="$run_id" TMPDIR="$work" python -m pytest -q -s -p no:cacheprovider tests/runner
}

# The molecule stage runs every scenario on the controller's ansible-core (.venv); this one runs
# the default scenario (or MOLECULE_NEWEST_SCENARIOS) on the newest series, from its own venv.
molecule_on() {
  local series=$1 venv scenario failed=0
  shift
  venv=$(core_venv "$series") || return 1
  for scenario; do
    echo "--- molecule scenario on ansible-core $series: $scenario"
    # Hosts are named $run_id-core-SCENARIO: the cleanup above removes them with the run's others.
    (cd extensions && PATH="$venv/bin:$PATH" NIXKIT_LAB_PREFIX="$run_id-core" \
       MOLECULE_EPHEMERAL_DIRECTORY="$work/molecule-$series/$scenario" molecule test -s "$scenario") || failed=1
  done
  return "$failed"
}

stage_nixmatrix() {
  # The Nix matrix: scenarios on Debian sid's Nix (lab variant nixsid, NIXKIT_LAB_NIX=sid) after the
  # molecule stage ran them on trixie's 2.26. By hand: `scripts/test.sh nixmatrix` runs farm, cache
  # and nixos_deploy; NIXMATRIX_SCENARIOS picks others. The default pipeline runs only
  # ${NIXMATRIX_SCENARIOS} as set in the default stage list below. Own run ids and molecule
  # directories ($run_id-sid-*), so the runs cannot meet the trixie ones of the molecule stage.
  local scenarios scenario failed=0 start image
  read -r -a scenarios <<<"${NIXMATRIX_SCENARIOS:-farm cache nixos_deploy}"
  python3 tests/lab/nixlab.py image --variant nixsid || return 1
  image=$(python3 -c 'import sys; sys.path.insert(0, "tests/lab"); import nixlab; print(nixlab.image_name("nixsid"))')
  # For the summary's Nix matrix (global).
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

stage_molecule_newest() {
  local scenarios
  read -r -a scenarios <<<"${MOLECULE_NEWEST_SCENARIOS:-default}"
  core_step molecule "$core_newest" molecule_on "$core_newest" "${scenarios[@]}"
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
# The default pipeline runs one scenario on the newest Nix (nix_store_info: the smallest, and it reads the
# output that changed between 2.26 and 2.34); `scripts/test.sh nixmatrix` alone runs farm, cache, nixos_deploy.
[ ${#stages[@]} -gt 0 ] || { stages=(unit sanity lint build docs molecule molecule_newest nixmatrix runner bench)
  : "${NIXMATRIX_SCENARIOS:=nix_store_info}"; }
declare -A result
overall=0
for stage in "${stages[@]}"; do
  echo "=== $stage"
  start=$SECONDS
  if "stage_$stage"; then result[$stage]="passed"; else result[$stage]="FAILED"; overall=1; fi
  result[$stage]+=" ($((SECONDS - start)) s)"
done

echo "=== summary"
# The molecule stage is the controller's series; the others record theirs as they run.
[ -z "${result[molecule]:-}" ] || matrix["molecule[$core_controller]"]=${result[molecule]}
passed=0 failed=0
for stage in "${stages[@]}"; do
  echo "  $stage: ${result[$stage]}"
  case ${result[$stage]} in passed*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo "stages: $passed passed, $failed failed"
# The ansible-core matrix: each stage that ran on a series, with that series' result.
if [ ${#matrix[@]} -gt 0 ]; then
  echo "=== ansible-core matrix"
  for name in unit sanity molecule; do
    for series in "${core_all[@]}"; do
      key="${name}[$series]"
      [ -z "${matrix[$key]:-}" ] || echo "  $key: ${matrix[$key]}"
    done
  done
fi
# The Nix matrix: the molecule stage runs on trixie's Nix (lab variant nix), nixmatrix on sid's.
if [ -n "${result[molecule]:-}" ] || [ -n "${result[nixmatrix]:-}" ]; then
  echo "=== Nix matrix"
  [ -z "${result[molecule]:-}" ] ||
    echo "  nix[trixie 2.26]: ${result[molecule]} (${MOLECULE_SCENARIOS:-every scenario})"
  [ -z "${result[nixmatrix]:-}" ] ||
    echo "  nix[sid $(echo "${nix_version:-?}" | awk '{print $NF}')]: ${result[nixmatrix]} (${NIXMATRIX_SCENARIOS:-farm cache nixos_deploy})"
fi
exit $overall
