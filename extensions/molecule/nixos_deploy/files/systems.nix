# Synthetic NixOS "system closures" for the nixos_deploy scenario (no nixpkgs, /bin/sh only), one set
# per host. Each system refers to a payload path of `kb` kB, so its closure has two paths.
# bin/switch-to-configuration records "NAME ACTION START END" in /var/lib/nixkit-lab/activations.log,
# points /run/current-system at itself on switch/test (as NixOS does), takes 2 s, and then behaves
# as its `behaviour` says: ok, unhealthy (activates fine, fails the scenario's health check) or fail4.
# It also notes which of the scenario's secrets were there when it began, and creates the user nixkit-app.
{ host ? "lab", system ? builtins.currentSystem }:
let
  script = ''
    #!/bin/sh
    start=$(date +%s.%N)
    top=$(dirname "$(dirname "$(readlink -f "$0")")")
    behaviour=$(cat "$top/behaviour")
    mkdir -p /var/lib/nixkit-lab
    case "$1" in
      dry-activate) echo "would activate $top"; exit 0 ;;
      boot) echo "boot entry: $top"; exit 0 ;;
      switch|test) ;;
      *) echo "unknown action: $1" >&2; exit 1 ;;
    esac
    # The scenario's secrets: which were in place when the activation began (pre-activation ones are,
    # post-activation ones are not, on a first deployment). Names only, never content.
    printf '%s pre=%s post=%s\n' "$(basename "$top")" "$([ -e /run/keys/nixkit-pre ] && echo yes || echo no)" \
      "$([ -e /var/lib/nixkit-app/token ] && echo yes || echo no)" >> /var/lib/nixkit-lab/secrets-at-activation.log
    sleep 2
    ln -sfn "$top" /run/current-system
    # A user the system declares, created by its activation (as NixOS's users do).
    id nixkit-app >/dev/null 2>&1 || useradd --system --no-create-home nixkit-app
    echo "$(basename "$top") $1 $start $(date +%s.%N)" >> /var/lib/nixkit-lab/activations.log
    case "$behaviour" in
      fail4) echo "the following units failed: broken.service" >&2; exit 4 ;;
    esac
  '';
  payload = name: kb: builtins.derivation {
    name = "payload-${host}-${name}";
    inherit system;
    builder = "/bin/sh";
    PATH = "/bin:/usr/bin";
    args = [ "-c" "mkdir $out && head -c ${toString kb}000 /dev/urandom > $out/blob" ];
  };
  mk = name: behaviour: kb: builtins.derivation {
    name = "nixos-system-${host}-${name}";
    inherit system behaviour script;
    builder = "/bin/sh";
    PATH = "/bin:/usr/bin";
    payload = payload name kb;
    args = [ "-c" "mkdir -p $out/bin && ln -s $payload $out/payload && echo $behaviour > $out/behaviour && printf '%s' \"$script\" > $out/bin/switch-to-configuration && chmod 755 $out/bin/switch-to-configuration" ];
  };
in {
  v1 = mk "v1" "ok" 64;
  v2 = mk "v2" "ok" 64;
  v3 = mk "v3" "ok" 64;
  unhealthy = mk "unhealthy" "unhealthy" 64;
  fail4 = mk "fail4" "fail4" 64;
  big = mk "big" "ok" 8000;
}
