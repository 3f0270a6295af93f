# Synthetic NixOS "system closures" for the nixos_switch scenario: no nixpkgs, /bin/sh only.
# bin/switch-to-configuration records ACTION, points /run/current-system at itself on switch/test
# (as NixOS does) and then behaves as its `behaviour` says. `check` compares the system's
# switch-inhibitors with the running system's, as NixOS 26.05's switch-to-configuration does.
{ salt ? "lab" }:
let
  script = ''
    #!/bin/sh
    top=$(dirname "$(dirname "$(readlink -f "$0")")")
    behaviour=$(cat "$top/behaviour")
    mkdir -p /var/lib/nixkit-lab
    echo "$(basename "$top") $1" >> /var/lib/nixkit-lab/activations.log
    case "$1" in
      check)
        if [ -f "$top/switch-inhibitors" ] && [ -f /run/current-system/switch-inhibitors ] &&
           ! cmp -s "$top/switch-inhibitors" /run/current-system/switch-inhibitors; then
          echo "There are changes to critical components of the system: systemd" >&2; exit 1
        fi
        exit 0 ;;
      dry-activate) echo "would activate $top"; exit 0 ;;
      boot) echo "boot entry: $top"; exit 0 ;;
      switch|test) ;;
      *) echo "unknown action: $1" >&2; exit 1 ;;
    esac
    ln -sfn "$top" /run/current-system
    case "$behaviour" in
      ok) systemctl start ssh.service ;;
      fail4) echo "the following units failed: broken.service" >&2; exit 4 ;;
      reboot) echo "the kernel changed: reboot required"; exit 100 ;;
      hang) sleep 20 ;;
      nossh) systemctl stop ssh.socket ssh.service ;;
    esac
  '';
  mkWith = inhibitors: name: behaviour: builtins.derivation {
    name = "nixos-system-${name}-${salt}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/bin:/usr/bin";
    inherit behaviour script inhibitors;
    args = [ "-c" "mkdir -p $out/bin && echo $behaviour > $out/behaviour && printf '%s' \"$script\" > $out/bin/switch-to-configuration && chmod 755 $out/bin/switch-to-configuration && if [ -n \"$inhibitors\" ]; then printf '%s' \"$inhibitors\" > $out/switch-inhibitors; fi" ];
  };
  mk = mkWith "";
in {
  base = mk "base" "ok";
  v1 = mk "v1" "ok";
  v2 = mk "v2" "ok";
  fail4 = mk "fail4" "fail4";
  reboot = mk "reboot" "reboot";
  hang = mk "hang" "hang";
  nossh = mk "nossh" "nossh";
  # Two systems that differ in a switch inhibitor (their systemd).
  inhibA = mkWith ''{"systemd": "systemd-258"}'' "inhibA" "ok";
  inhibB = mkWith ''{"systemd": "systemd-259"}'' "inhibB" "ok";
  # not a system: no bin/switch-to-configuration
  plain = builtins.derivation {
    name = "not-a-system-${salt}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "echo plain > $out" ];
  };
}
