"""nixlab: real lab hosts for nixkit.nix tests, as podman containers.

Each host runs systemd as PID 1, sshd and python3 (Debian trixie); variant ``nix`` adds
multi-user Nix 2.26 from Debian's ``nix-bin`` + ``nix-setup-systemd``, variant ``bare`` has no Nix.
Variant ``nix28`` is a Debian bookworm host with bookworm's multi-user Nix 2.8.0 (``sandbox = false``:
2.8's sandbox cannot start in a default lab container), for testing against the oldest Nix we meet.
Variant ``nixsid`` is a trixie host with Debian sid's ``nix-bin`` + ``nix-setup-systemd`` (Nix 2.34.x
when written; systemd stays trixie's, as sid's does not boot on this machine's cgroup v1), for
testing against the newest Nix Debian ships. sid moves: its image name hashes the recipe, not the
package versions, so ``image --variant nixsid --rebuild`` picks up a newer Nix. ``up --nix-flavour sid`` runs every
host asked for as ``nix`` on ``nixsid``; the molecule scenarios pass NIXKIT_LAB_NIX (sid or trixie)
as that option (extensions/molecule/shared/create.yml), so NIXKIT_LAB_NIX=sid runs a scenario on sid.
Run as root (rootful podman: the controller reaches hosts on their bridge addresses).

Usage:
  nixlab.py image [--variant nix|bare|nix28|nixsid|all] [--rebuild] [--mirror URL]   (all: nix, bare)
  nixlab.py up --run RUN --host NAME[:VARIANT][=GROUP,...] [--host ...] --state-dir DIR
               [--inventory PATH] [--json] [--nix-sandbox] [--nix-flavour trixie|sid]
  nixlab.py down --run RUN [--state-dir DIR]
  nixlab.py down --all | --prefix PREFIX      (PREFIX: runs PREFIX and PREFIX-*)
  nixlab.py list
  nixlab.py exec --run RUN NAME -- CMD...

Example:
  nixlab.py up --run t1 --state-dir /tmp/t1 --host h1=nix_builders --host h2:nix=nix_clients \\
      --host h3:bare --host h4:nix28=nix_clients --host h5:nixsid=nix_builders
  ansible -i /tmp/t1/inventory.yml all -m ping
  nixlab.py down --run t1 --state-dir /tmp/t1

Images are cached as localhost/nixkit-lab:<variant>-<hash of the build recipe>. The Debian mirror
comes from --mirror, $NIXKIT_LAB_MIRROR, or this machine's apt configuration.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Every podman call gets this config: runc, cgroupfs and sane ulimits (see containers.conf).
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(HERE / "containers.conf")}
LABEL = "io.nixkit.lab.run"
IMAGE_REPO = "localhost/nixkit-lab"
RUN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
SPEC_RE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]{0,30})(?::(?P<variant>nix28|nixsid|nix|bare))?"
                     r"(?:=(?P<groups>[A-Za-z_][A-Za-z0-9_]*(?:,[A-Za-z_][A-Za-z0-9_]*)*))?$")
STATE_MARKER = ".nixkit-lab"  # `down --state-dir` only deletes directories that `up` made
T0 = time.monotonic()

# ---- build recipe: everything here feeds the image hash, so editing it triggers a rebuild ----
SUITE = "trixie"
INCLUDE = "openssh-server,python3,sudo,iproute2,systemd,systemd-sysv,ca-certificates"
# Runs in the chroot for both variants. Host keys are made at first boot so no two containers
# share them (tests pin host keys).
BASE_SH = r"""set -e
cat > /etc/systemd/system/nixkit-ssh-hostkeys.service <<'EOF'
[Unit]
Description=Generate this host's own SSH host keys (nixkit lab)
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes
[Install]
WantedBy=multi-user.target ssh.service
EOF
systemctl enable nixkit-ssh-hostkeys.service
"""
NIX_SH = r"""set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends nix-bin nix-setup-systemd
"""
# Debian 12's Nix 2.8.0. nix-bin cannot go into debootstrap's --include (its dependency
# resolution fails on perl-dbdabi-94), so apt installs it in the chroot. 2.8's build sandbox fails
# in a default lab container ("cannot set host name: Operation not permitted", and 2.8 does not fall
# back), so the sandbox stays off as bookworm ships it: builds run unsandboxed, as the trixie
# variant's do without --nix-sandbox. (With --nix-sandbox 2.8's sandbox starts, but its
# sandbox-paths is empty: a builder = "/bin/sh" derivation finds no /bin/sh there.)
SUITE_NIX28 = "bookworm"
NIX28_SH = r"""set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends nix-bin nix-setup-systemd
test -f /etc/nix/nix.conf
if grep -q '^ *sandbox *=' /etc/nix/nix.conf; then
  sed -i 's/^ *sandbox *=.*/sandbox = false/' /etc/nix/nix.conf
else
  echo 'sandbox = false' >> /etc/nix/nix.conf
fi
"""
# Debian sid's Nix on the trixie base. A pure sid image does not boot here: sid's systemd no longer
# runs on the cgroup v1 hierarchy of this machine. So the trixie rootfs gets a sid source pinned low
# (100: nothing comes from sid unless asked); `-t unstable` takes nix-bin and nix-setup-systemd from sid
# (with the sid versions of the libraries they need, libc among them); systemd and its libraries are
# pinned to trixie (without that, sid's libpam-systemd pulls sid's systemd) and checked afterwards.
# The snapshot mirror's sid Release is past its Valid-Until, hence the apt option. The sid source
# is removed again so that roles' `apt-get update` on lab hosts sees trixie only. The mirror is the
# one debootstrap wrote into the rootfs, so the recipe (and the image hash) names none.
NIXSID_SH = r"""set -e
export DEBIAN_FRONTEND=noninteractive
mirror=$(sed -n 's/^deb \([^ ]*\) trixie .*/\1/p' /etc/apt/sources.list | head -n 1)
test -n "$mirror" || { echo "no trixie source in /etc/apt/sources.list" >&2; exit 1; }
echo "deb $mirror sid main" > /etc/apt/sources.list.d/nixkit-sid.list
cat > /etc/apt/preferences.d/nixkit-sid.pref <<'EOF'
Package: *
Pin: release a=unstable
Pin-Priority: 100

Package: systemd systemd-sysv libsystemd0 libsystemd-shared libudev1 libpam-systemd libnss-systemd udev
Pin: release n=trixie
Pin-Priority: 1001
EOF
systemd_before=$(dpkg-query -W -f '${Version}' systemd)
apt-get -o Acquire::Check-Valid-Until=false update -q
apt-get install -y -q --no-install-recommends -t unstable nix-bin nix-setup-systemd
systemd_after=$(dpkg-query -W -f '${Version}' systemd)
if [ "$systemd_before" != "$systemd_after" ]; then
  echo "sid's Nix pulled systemd $systemd_after (was $systemd_before): it would not boot here" >&2
  exit 1
fi
rm /etc/apt/sources.list.d/nixkit-sid.list /etc/apt/preferences.d/nixkit-sid.pref
nix --version
"""
# variant -> (Debian suite, scripts run in the chroot after the base). The hash of a variant's
# image covers its suite, the base recipe and its scripts.
VARIANTS = {
    "bare": (SUITE, []),
    "nix": (SUITE, [NIX_SH]),
    "nix28": (SUITE_NIX28, [NIX28_SH]),
    "nixsid": (SUITE, [NIXSID_SH]),
}
DEFAULT_VARIANTS = ["bare", "nix"]
# `up --nix-flavour F`: the variant that hosts asking for `nix` get ("" is the default, trixie).
NIX_FLAVOURS = {"": "nix", "trixie": "nix", "sid": "nixsid"}  # what `image` builds by default (`--variant all`)
# Last step before every import: nothing host- or build-specific stays in the image
# (podman bind-mounts its own resolv.conf, hostname and hosts).
FINALIZE_SH = r"""set -e
rm -f /etc/ssh/ssh_host_* /etc/resolv.conf /etc/hostname /var/lib/dbus/machine-id
: > /etc/machine-id
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > /etc/hosts
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/cache/debconf/*-old /tmp/* /var/tmp/*
"""


def log(msg: str) -> None:
    print(f"[nixlab {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


class LabError(Exception):
    pass


def run(cmd, *, check=True, input=None, env=None, capture=True) -> subprocess.CompletedProcess:
    # Own process group, killed whole on interruption: no orphaned dpkg keeps writing into a
    # build directory that is being removed.
    with subprocess.Popen(cmd, env=env, text=True, start_new_session=True,
                          stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                          stdout=subprocess.PIPE if capture else sys.stderr,
                          stderr=subprocess.PIPE if capture else None) as proc:
        try:
            out, err = proc.communicate(input)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    r = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if check and r.returncode != 0:
        err = (r.stderr or "").strip() if capture else ""
        raise LabError(f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n{err}")
    return r


def podman(*args, **kw) -> subprocess.CompletedProcess:
    return run(["podman", *args], env=PODMAN_ENV, **kw)


# ------------------------------------------------------------------------------------ images
def image_name(variant: str) -> str:
    suite, steps = VARIANTS[variant]
    # Same list as before variants had their own suites, so the trixie images keep their names.
    parts = [suite, INCLUDE, BASE_SH, FINALIZE_SH] + steps
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]
    return f"{IMAGE_REPO}:{variant}-{digest}"


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


def default_mirror() -> str:
    """First non-security Debian URI of this machine's apt config (deb822 first, then one-line)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", Path(path).read_text()):
            f = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
            if "deb" in f.get("Types", "").split() and f.get("URIs") and not all(
                    s.endswith("-security") for s in f.get("Suites", "").split()):
                return f["URIs"].split()[0]
    with contextlib.suppress(FileNotFoundError):
        for line in Path("/etc/apt/sources.list").read_text().splitlines():
            m = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and not m.group(2).endswith("-security"):
                return m.group(1)
    raise LabError("no Debian mirror found in the apt configuration; pass --mirror URL")


def mounts_under(path: Path) -> list[str]:
    root = str(path.resolve())
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == root or p.startswith(root + "/")]


def remove_build_dir(path: Path) -> None:
    """rmtree would descend into a leftover bind mount of /dev or /proc: unmount first, and keep
    the directory if anything is still mounted below it."""
    for mp in sorted(mounts_under(path), key=len, reverse=True):
        if run(["umount", mp], check=False).returncode:
            run(["umount", "-l", mp], check=False)
    if mounts_under(path):
        log(f"WARNING: mounts remain below {path}; not removing it")
        return
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def chroot_mounts(rootfs: Path):
    """/proc, /sys, /dev for package scripts in the chroot; plus DNS for apt."""
    mounted = []
    try:
        for src, dst, opts in [("proc", "proc", ["-t", "proc"]), ("sysfs", "sys", ["-t", "sysfs"]),
                               ("/dev", "dev", ["--bind"]), ("/dev/pts", "dev/pts", ["--bind"])]:
            run(["mount", *opts, src, str(rootfs / dst)])
            mounted.append(rootfs / dst)
        resolv = rootfs / "etc/resolv.conf"
        resolv.unlink(missing_ok=True)  # may be a dangling symlink
        shutil.copyfile("/etc/resolv.conf", resolv)
        yield
    finally:
        for mp in reversed(mounted):
            if run(["umount", str(mp)], check=False).returncode:
                run(["umount", "-l", str(mp)], check=False)


def chroot_sh(rootfs: Path, script: str) -> None:
    run(["chroot", str(rootfs), "/bin/sh", "-c", script],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root"},
        capture=False)


def import_rootfs(rootfs: Path, name: str) -> None:
    t = time.monotonic()
    old = podman("image", "inspect", "-f", "{{.Id}}", name, check=False).stdout.strip()
    tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
                           stdout=subprocess.PIPE)
    imp = subprocess.run(["podman", "import", "--change", 'CMD ["/lib/systemd/systemd"]', "-", name],
                         stdin=tar.stdout, env=PODMAN_ENV, stdout=subprocess.DEVNULL, check=False)
    tar.stdout.close()
    if tar.wait() or imp.returncode:
        raise LabError(f"importing {name} failed (tar {tar.returncode}, podman {imp.returncode})")
    if old:  # --rebuild: drop the image the tag pointed to, not leave it dangling
        podman("rmi", old, check=False)
    log(f"imported {name} in {time.monotonic() - t:.1f}s")


def prune_old_images(variant: str, keep: str) -> None:
    """Drop this variant's images from older recipes (ignored if a container still uses one)."""
    out = podman("images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_REPO, check=False).stdout
    for ref in out.split():
        if ref.startswith(f"{IMAGE_REPO}:{variant}-") and ref != keep:
            podman("rmi", ref, check=False)


def ensure_images(variants: list[str], mirror: str | None = None, rebuild: bool = False) -> None:
    def missing():
        return [v for v in variants if rebuild or not image_exists(image_name(v))]

    if not missing():
        for v in variants:
            log(f"image {image_name(v)} is cached")
        return
    lock_path = Path(tempfile.gettempdir()) / "nixkit-lab-image.lock"
    with open(lock_path, "w") as lock:
        log("waiting for the image build lock")
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building the same image
        want = missing()
        if want:
            build(want, mirror or os.environ.get("NIXKIT_LAB_MIRROR") or default_mirror())
        else:
            log("images were built by a concurrent run")


def build(variants: list[str], mirror: str) -> None:
    if not shutil.which("debootstrap"):
        raise LabError("debootstrap is not installed (apt-get install debootstrap)")
    t0 = time.monotonic()
    for suite in sorted({VARIANTS[v][0] for v in variants}):
        build_suite(suite, [v for v in variants if VARIANTS[v][0] == suite], mirror)
    for v in variants:
        prune_old_images(v, image_name(v))
    log(f"built {', '.join(variants)} in {time.monotonic() - t0:.1f}s")


def build_suite(suite: str, variants: list[str], mirror: str) -> None:
    """One debootstrap of `suite`; variants without scripts are imported as they are, the others
    get their scripts on the base (on a copy when another variant still needs the base)."""
    tmp = Path(tempfile.mkdtemp(prefix="nixkit-lab-build-", dir="/var/tmp"))
    rootfs = tmp / "rootfs"
    try:
        log(f"debootstrap {suite} into {rootfs}")
        t = time.monotonic()
        run(["debootstrap", "--variant=minbase", f"--include={INCLUDE}", suite, str(rootfs), mirror],
            capture=False)
        chroot_sh(rootfs, BASE_SH + FINALIZE_SH)
        log(f"base {suite} rootfs ready in {time.monotonic() - t:.1f}s")
        plain = [v for v in variants if not VARIANTS[v][1]]
        scripted = [v for v in variants if VARIANTS[v][1]]
        for v in plain:
            import_rootfs(rootfs, image_name(v))
        for i, v in enumerate(scripted):
            t = time.monotonic()
            target = rootfs
            if i < len(scripted) - 1:  # the base is still needed afterwards
                target = tmp / f"rootfs-{v}"
                run(["cp", "-a", str(rootfs), str(target)])
            with chroot_mounts(target):
                for script in VARIANTS[v][1]:
                    chroot_sh(target, script)
            chroot_sh(target, FINALIZE_SH)
            log(f"{v} scripts ran in {time.monotonic() - t:.1f}s")
            import_rootfs(target, image_name(v))
    finally:
        remove_build_dir(tmp)


# ------------------------------------------------------------------------------------ hosts
def container_name(run_id: str, host: str) -> str:
    return f"nixkit-{run_id}-{host}"


def run_containers(run_id: str | None) -> list[str]:
    flt = f"label={LABEL}={run_id}" if run_id else f"label={LABEL}"
    return podman("ps", "-a", "-q", "--filter", flt).stdout.split()


def network_exists(net: str) -> bool:
    return podman("network", "exists", net, check=False).returncode == 0


def teardown(match) -> None:
    """Remove the containers and networks of every run id for which match(id) holds; idempotent."""
    out = podman("ps", "-a", "--filter", f"label={LABEL}",
                 "--format", '{{.ID}} {{index .Labels "%s"}}' % LABEL).stdout
    ids = [cid for cid, rid in (line.split() for line in out.splitlines()) if match(rid)]
    if ids:
        podman("rm", "-f", "-t", "0", *ids)
    nets = [n for n in podman("network", "ls", "--format", "{{.Name}}").stdout.split()
            if n.startswith("nixkit-") and match(n[len("nixkit-"):])]
    for net in nets:
        podman("network", "rm", net)
    log(f"removed {len(ids)} container(s), network(s): {' '.join(nets) or '-'}")


def reboot_addresses(net: str, names: list[str]) -> dict:
    """Fixed addresses for the hosts that may reboot, from the top of the network's subnet (the
    allocator hands out addresses from the bottom)."""
    if not names:
        return {}
    subnets = json.loads(podman("network", "inspect", "-f", "{{json .Subnets}}", net).stdout)
    top = list(ipaddress.ip_network(subnets[0]["subnet"]).hosts())[-len(names) - 1:-1]
    return {name: str(addr) for name, addr in zip(sorted(names), top)}


def parse_spec(spec: str) -> dict:
    m = SPEC_RE.match(spec)
    if not m:
        raise LabError(f"bad --host {spec!r}: expected NAME[:nix|bare|nix28|nixsid][=GROUP1,GROUP2]")
    groups = m["groups"].split(",") if m["groups"] else []
    return {"name": m["name"], "variant": m["variant"] or "nix", "groups": groups}


def apply_nix_flavour(hosts: list[dict], flavour: str) -> list[dict]:
    """Hosts of variant ``nix`` on the flavour's variant; other variants stay as they were asked."""
    if flavour not in NIX_FLAVOURS:
        raise LabError(f"unknown Nix flavour {flavour!r} (--nix-flavour, set from NIXKIT_LAB_NIX by the "
                       f"molecule scenarios): use one of {', '.join(repr(f) for f in NIX_FLAVOURS)}")
    return [{**h, "variant": NIX_FLAVOURS[flavour]} if h["variant"] == "nix" else h for h in hosts]


def wait_booted(cname: str, timeout: float = 180) -> None:
    """systemd is up when is-system-running settles on running/degraded."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        r = podman("exec", cname, "systemctl", "is-system-running", check=False)
        state = r.stdout.strip()
        if state in ("running", "degraded"):
            if state == "degraded":
                failed = podman("exec", cname, "systemctl", "--failed", "--no-legend", "--plain",
                                check=False).stdout.strip()
                log(f"{cname}: degraded; failed units:\n{failed}")
            return
        if podman("inspect", "-f", "{{.State.Running}}", cname, check=False).stdout.strip() != "true":
            logs = podman("logs", "--tail", "30", cname, check=False)
            raise LabError(f"{cname} exited while booting:\n{logs.stdout}{logs.stderr}")
        time.sleep(0.5)
    raise LabError(f"{cname}: systemd did not finish booting in {timeout}s (state {state!r})")


def wait_ssh(ip: str, key: Path, known_hosts: Path, timeout: float = 60) -> None:
    """A real login with the generated key and pinned host key, as Ansible will do it."""
    cmd = ["ssh", "-F", "/dev/null", "-i", str(key), "-o", f"UserKnownHostsFile={known_hosts}",
           "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
           "-o", "ConnectTimeout=5", f"root@{ip}", "true"]
    deadline = time.monotonic() + timeout
    while True:
        r = run(cmd, check=False)
        if r.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise LabError(f"ssh to {ip} failed: {r.stderr.strip()}")
        time.sleep(1)


def yaml_lines(obj: dict, indent: int = 0) -> list[str]:
    """Tiny YAML emitter: nested mappings; scalars as JSON, which YAML reads verbatim."""
    out = []
    for k, v in obj.items():
        if isinstance(v, dict) and v:
            out += [f"{' ' * indent}{k}:", *yaml_lines(v, indent + 2)]
        else:
            out.append(f"{' ' * indent}{k}: {json.dumps(v)}")
    return out


def cmd_up(a) -> int:
    hosts = apply_nix_flavour([parse_spec(s) for s in a.host], a.nix_flavour)
    names = [h["name"] for h in hosts]
    if len(set(names)) != len(names):
        raise LabError(f"duplicate host names in {names}")
    unknown = sorted(set(a.reboots) - set(names))
    if unknown:
        raise LabError(f"--reboots names no --host: {', '.join(unknown)}")
    net = f"nixkit-{a.run}"
    if run_containers(a.run) or network_exists(net):
        raise LabError(f"run {a.run!r} already exists; run `nixlab.py down --run {a.run}` first")
    ensure_images(sorted({h["variant"] for h in hosts}))

    t_up = time.monotonic()
    state = Path(a.state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    (state / STATE_MARKER).touch()
    key, known_hosts = state / "id_ed25519", state / "known_hosts"
    inventory = Path(a.inventory).resolve() if a.inventory else state / "inventory.yml"
    for p in (key, key.with_suffix(".pub")):
        p.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"nixkit-lab-{a.run}", "-f", str(key)])
    os.chmod(key, 0o600)
    pubkey = key.with_suffix(".pub").read_text()

    # Nix's build sandbox needs a user namespace and a fresh /proc; the kernel refuses the latter
    # while podman's masks sit on /proc, and podman's seccomp blocks sethostname. Without these
    # options Nix silently builds unsandboxed (sandbox-fallback = true). Opt-in because the
    # container's root is then host root with writable global /proc/sys and /proc/sysrq-trigger
    # (user-namespaced containers cannot run systemd on this host's cgroup v1).
    sandbox_opts = ["--security-opt", "unmask=/proc/*", "--security-opt", "seccomp=unconfined",
                    "--label", "io.nixkit.lab.nix-sandbox=true"] if a.nix_sandbox else []
    try:
        podman("network", "create", "--label", f"{LABEL}={a.run}", net)
        fixed = reboot_addresses(net, a.reboots)
        for h in hosts:
            cname = h["container"] = container_name(a.run, h["name"])
            # systemd as PID 1 exits on `reboot` in a container; podman starts it again, and the inventory's
            # address must survive that (the network's allocator would hand out the next free one).
            reboot_opts = ["--restart=always", "--ip", fixed[h["name"]]] if h["name"] in fixed else []
            podman("run", "-d", "--name", cname, "--hostname", h["name"], "--network", net,
                   "--network-alias", h["name"], "--systemd=always", *sandbox_opts, *reboot_opts,
                   "--label", f"{LABEL}={a.run}", "--label", f"io.nixkit.lab.host={h['name']}",
                   "--label", f"io.nixkit.lab.variant={h['variant']}",
                   image_name(h["variant"]), "/lib/systemd/systemd")
        log(f"started {len(hosts)} container(s) on network {net}")
        for h in hosts:
            podman("exec", "-i", h["container"], "sh", "-c",
                   "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys", input=pubkey)
            wait_booted(h["container"])
            nets = json.loads(podman("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                     h["container"]).stdout)
            h["address"] = nets[net]["IPAddress"]
            # Host key read over podman exec, a channel we trust, so ssh can pin it strictly.
            hostkey = podman("exec", h["container"], "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout
            h["hostkey"] = " ".join(hostkey.split()[:2])
        known_hosts.write_text("".join(f"{h['address']},{h['name']} {h['hostkey']}\n" for h in hosts))
        for h in hosts:
            wait_ssh(h["address"], key, known_hosts)
        log(f"booted and reachable over ssh: {' '.join(names)}")

        ssh_args = (f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes "
                    "-o IdentitiesOnly=yes")
        inv: dict = {"all": {"hosts": {h["name"]: {
            "ansible_host": h["address"], "ansible_user": "root",
            "ansible_ssh_private_key_file": str(key), "ansible_ssh_common_args": ssh_args,
            "ansible_python_interpreter": "/usr/bin/python3",
            "nixkit_lab_container": h["container"], "nixkit_lab_nix_sandbox": a.nix_sandbox}
            for h in hosts}}}
        groups: dict = {}
        for h in hosts:
            for g in h["groups"]:
                if g != "all":
                    groups.setdefault(g, {"hosts": {}})["hosts"][h["name"]] = {}
        if groups:
            inv["all"]["children"] = groups
        inventory.parent.mkdir(parents=True, exist_ok=True)
        inventory.write_text("# Generated by tests/lab/nixlab.py; removed with `down`.\n"
                             + "\n".join(yaml_lines(inv)) + "\n")
    except BaseException as e:  # also Ctrl-C/SIGTERM: never leave half a lab behind
        if not isinstance(e, Exception):
            e = LabError("interrupted")
        log(f"up failed: {e}; removing what this run created")
        # The run did not exist before, so everything carrying its id is ours (by label, so a
        # container whose `podman run` was interrupted is caught too).
        teardown(lambda rid: rid == a.run)
        raise LabError(f"up --run {a.run} failed: {e}") from e

    log(f"up of {len(hosts)} host(s) took {time.monotonic() - t_up:.1f}s; inventory {inventory}")
    if a.json:
        print(json.dumps({
            "hosts": {h["name"]: {"address": h["address"], "container": h["container"],
                                  "variant": h["variant"], "groups": h["groups"] or ["all"]}
                      for h in hosts},
            "private_key": str(key), "known_hosts": str(known_hosts), "inventory": str(inventory),
        }, indent=2))
    return 0


def cmd_down(a) -> int:
    if a.all:
        teardown(lambda rid: True)
    elif a.prefix:  # a test pipeline's runs are PREFIX-SCENARIO
        teardown(lambda rid: rid == a.prefix or rid.startswith(a.prefix + "-"))
    else:
        teardown(lambda rid: rid == a.run)
    if a.state_dir:
        state = Path(a.state_dir)
        if (state / STATE_MARKER).exists():
            shutil.rmtree(state)
            log(f"removed {state}")
        elif state.exists():
            raise LabError(f"{state} was not made by `nixlab.py up`; not removing it")
    return 0


def cmd_list(a) -> int:
    ids = run_containers(None)
    rows = []
    for c in json.loads(podman("inspect", *ids).stdout) if ids else []:
        labels = c["Config"]["Labels"] or {}
        nets = c["NetworkSettings"]["Networks"] or {}
        addr = " ".join(n["IPAddress"] for n in nets.values() if n.get("IPAddress")) or "-"
        rows.append((labels.get(LABEL, "?"), labels.get("io.nixkit.lab.host", "?"),
                     labels.get("io.nixkit.lab.variant", "?"), c["State"]["Status"], addr,
                     c["Name"].lstrip("/")))
    nets = [n for n in podman("network", "ls", "--format", "{{.Name}}").stdout.split()
            if n.startswith("nixkit-")]
    fmt = "{:<16} {:<12} {:<8} {:<10} {:<16} {}"
    print(fmt.format("RUN", "HOST", "VARIANT", "STATE", "ADDRESS", "CONTAINER"))
    for r in sorted(rows):
        print(fmt.format(*r))
    for n in nets:
        if not any(f"nixkit-{r[0]}" == n for r in rows):
            print(fmt.format(n[len("nixkit-"):], "-", "-", "network", "-", "-"))
    return 0


def cmd_exec(a) -> int:
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        raise LabError("exec needs a command after --")
    tty = ["-t"] if sys.stdin.isatty() and sys.stdout.isatty() else []
    os.execvpe("podman", ["podman", "exec", "-i", *tty, container_name(a.run, a.name), *cmd], PODMAN_ENV)


def cmd_image(a) -> int:
    ensure_images(DEFAULT_VARIANTS if a.variant == "all" else [a.variant], a.mirror, a.rebuild)
    return 0


def main(argv=None) -> int:
    def run_id(s: str) -> str:
        if not RUN_RE.match(s):
            raise argparse.ArgumentTypeError(f"RUN must match {RUN_RE.pattern}")
        return s

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("image", help="build (or reuse) the lab images")
    s.add_argument("--variant", choices=[*VARIANTS, "all"], default="all",
                   help="all: %s (nix28 and nixsid are built when first used or asked for)" % ", ".join(DEFAULT_VARIANTS))
    s.add_argument("--rebuild", action="store_true")
    s.add_argument("--mirror", help="Debian mirror URL (default: $NIXKIT_LAB_MIRROR or apt config)")
    s.set_defaults(func=cmd_image)
    s = sub.add_parser("up", help="start a run's hosts and write its inventory")
    s.add_argument("--run", required=True, type=run_id)
    s.add_argument("--host", required=True, action="append", metavar="NAME[:VARIANT][=GROUPS]")
    s.add_argument("--state-dir", required=True)
    s.add_argument("--inventory")
    s.add_argument("--json", action="store_true", help="print hosts and paths as JSON on stdout")
    s.add_argument("--nix-sandbox", action="store_true",
                   help="let Nix's build sandbox work (weakens isolation from the host, see code)")
    s.add_argument("--reboots", action="append", default=[], metavar="NAME",
                   help="this host may reboot: podman restarts its container when systemd exits for a reboot, "
                        "and it keeps a fixed address (repeatable)")
    s.add_argument("--nix-flavour", default="", metavar="trixie|sid",
                   help="run hosts of variant nix as this flavour: sid means variant nixsid "
                        "(default: trixie, variant nix)")
    s.set_defaults(func=cmd_up)
    s = sub.add_parser("down", help="remove a run (or all runs); idempotent")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--run", type=run_id)
    g.add_argument("--all", action="store_true")
    g.add_argument("--prefix", type=run_id, help="runs named PREFIX or PREFIX-*")
    s.add_argument("--state-dir")
    s.set_defaults(func=cmd_down)
    s = sub.add_parser("list", help="show runs and hosts")
    s.set_defaults(func=cmd_list)
    s = sub.add_parser("exec", help="podman exec into a run's host")
    s.add_argument("--run", required=True, type=run_id)
    s.add_argument("name")
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_exec)
    a = p.parse_args(argv)

    if a.command in ("image", "up", "down") and os.geteuid() != 0:
        p.error("needs root (rootful podman, debootstrap)")
    # SIGTERM should unwind like Ctrl-C so `up` cleans up and the build dir is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return a.func(a)
    except LabError as e:
        log(f"ERROR: {e}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
