#!/usr/bin/env bash
# Precision and recall on real boot configuration: Debian 12's own packages of the daemons
# IoT images ship (OpenSSH, Dropbear, lighttpd, snmpd, Mosquitto, hostapd, vsftpd, tftpd-hpa,
# inetd, telnetd, dnsmasq), armhf, with their real init scripts, upstart jobs, systemd units
# and default configurations, packed into a SquashFS with mksquashfs. `fwgate scan` must read
# every file (no problem) and report, at or above high, exactly what those defaults really do:
# vsftpd and tftpd-hpa started at boot, snmpd's default `rocommunity public`. Nothing for sshd,
# lighttpd (it runs as www-data), inetd (no telnet line), hostapd or Mosquitto.
#
# Needs root for `dpkg --add-architecture` (or the .debs already in $DEBS). When the Debian
# mirror cannot be reached the script says SKIPPED and exits 0; a wrong verdict is exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
fw=${FWGATE:-$PWD/target/release/fwgate}
[ -x "$fw" ] || cargo build --release --quiet
debs=${DEBS:-$PWD/target/real-configs/debs}
pkgs="openssh-server:armhf dropbear:all dropbear-bin:armhf lighttpd:armhf snmpd:armhf mosquitto:armhf
  hostapd:armhf vsftpd:armhf tftpd-hpa:armhf openbsd-inetd:armhf inetutils-telnetd:armhf dnsmasq-base:armhf"
. ci/debs.sh
# shellcheck disable=SC2086 # one word per package
fetch_debs real-configs "$debs" 10 $pkgs
n=$(ls "$debs"/*.deb | wc -l)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$work/root"; done
mkdir -p "$work/root/etc"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$work/root/etc/passwd"
printf 'root:!:19000:0:99999:7:::\n' > "$work/root/etc/shadow"
chmod 0600 "$work/root/etc/shadow"
mksquashfs "$work/root" "$work/fw.sqfs" -comp xz -noappend -all-root -quiet -no-progress >/dev/null
"$fw" scan "$work/fw.sqfs" --format json > "$work/report.json" 2>"$work/log" || true
python3 - "$work/report.json" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
got = sorted({(f["rule_id"], f["location"]["inner_path"]) for f in r["findings"]
              if f["severity"] in ("high", "critical")})
want = sorted({
    ("FWG-SVC-003", "/etc/init.d/vsftpd"),
    ("FWG-SVC-004", "/etc/init.d/tftpd-hpa"),
    ("FWG-SVC-004", "/etc/init/tftpd-hpa.conf"),
    ("FWG-SVC-010", "/etc/snmp/snmpd.conf"),
})
problems = r["problems"]
print("real-configs: %s packages, %d files scanned, %d finding(s) at or above high, %d problem(s)"
      % (sys.argv[2], r["coverage"]["files_scanned"], len(got), len(problems)))
ok = True
for p in problems:
    print("  problem: %s: %s" % (p["file"], p["message"])); ok = False
for g in got:
    if g not in want: print("  unexpected: %s %s" % g); ok = False
for w in want:
    if w not in got: print("  missed: %s %s" % w); ok = False
sys.exit(0 if ok else 1)
PY
