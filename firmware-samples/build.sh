#!/usr/bin/env bash
# Rebuilds every sample image in this folder with real tools from Debian's packages:
#   mksquashfs (squashfs-tools), mkimage (u-boot-tools), gzip, xz, openssl, and Debian's own
#   busybox-static for armhf, fetched with `apt-get download` (run as root, or with the .deb
#   already in $BUSYBOX_DEB).
# The outputs are committed, so tests never need to run this. Timestamps are pinned with
# SOURCE_DATE_EPOCH; the private key and the clean image's admin hash are fresh on each run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export LC_ALL=C TZ=UTC
arch=armhf

for tool in mksquashfs mkimage gzip xz openssl dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (apt-get install squashfs-tools u-boot-tools gzip xz-utils openssl)" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Debian's busybox-static for a non-x86 architecture -------------------------------------
deb=${BUSYBOX_DEB:-}
if [ -z "$deb" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    dpkg --add-architecture "$arch"
    apt-get update -qq || true   # a mirror index glitch on one suite must not stop us
  fi
  (cd "$work" && apt-get download -q "busybox-static:$arch")
  deb=$(ls "$work"/busybox-static_*_"$arch".deb)
fi
dpkg-deb -x "$deb" "$work/bb"
busybox="$work/bb/bin/busybox"
echo "busybox: $(basename "$deb")"

# --- a root file system: busybox with its applet links, /etc, init scripts -----------------
# Applets linked the way Debian's busybox installs them (no way to ask an armhf binary here).
bin_applets="ash sh cat chmod cp date dd df dmesg echo grep kill ln login ls mkdir mount mv ping ps rm sed sleep sync touch umount uname vi"
sbin_applets="halt ifconfig init klogd poweroff reboot route syslogd udhcpc"
usr_bin_applets="awk env free head id logger tail telnet tftp top uptime wget"
usr_sbin_applets="crond httpd ntpd telnetd udhcpd"

make_rootfs() {
  local root=$1
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,dev,proc,sys,tmp,var/run,root,www}
  install -m 0755 "$busybox" "$root/bin/busybox"
  for a in $bin_applets; do ln -s busybox "$root/bin/$a"; done
  for a in $sbin_applets; do ln -s ../bin/busybox "$root/sbin/$a"; done
  for a in $usr_bin_applets; do ln -s ../../bin/busybox "$root/usr/bin/$a"; done
  for a in $usr_sbin_applets; do ln -s ../../bin/busybox "$root/usr/sbin/$a"; done
  cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
admin:x:1000:1000:Web administrator:/www:/bin/sh
guest:x:1001:1001:Guest:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
  cat > "$root/etc/group" <<'G'
root:x:0:
admin:x:1000:
guest:x:1001:
nogroup:x:65534:
G
  echo acme-router > "$root/etc/hostname"
  cat > "$root/etc/os-release" <<'O'
NAME="Acme RouterOS"
VERSION="2.4.1"
ID=acmeos
O
  cat > "$root/etc/inittab" <<'I'
::sysinit:/etc/init.d/rcS
::respawn:/sbin/syslogd -n
::shutdown:/bin/umount -a -r
I
  # Factory defaults, xz-compressed as many vendors ship them (exercises squashfs -> xz).
  mkdir -p "$root/etc/config"
  printf 'lan_ipaddr=192.168.1.1\nlan_netmask=255.255.255.0\nwan_proto=dhcp\nwifi_ssid=Acme-Setup\nremote_mgmt=0\n' \
    | xz -9 -T1 -c > "$root/etc/config/factory-defaults.xz"
  cat > "$root/www/index.html" <<'H'
<html><body><h1>Acme Router</h1><form action="/login.cgi" method="post"></form></body></html>
H
}

# --- a kernel-like blob: a banner, pseudo-random "code", zero-filled .bss; then gzip --------
make_kernel_raw() {
  local out=$1
  {
    printf 'Linux version 4.14.241 (builder@acme) (gcc version 8.4.0) #1 SMP PREEMPT\n'
    head -c 98304 /dev/zero | openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 0 2>/dev/null
    head -c 65536 /dev/zero
  } > "$out"
}
make_kernel() {
  make_kernel_raw "$work/vmlinux"
  gzip -9 -n -c "$work/vmlinux" > "$1"
}

# --- assemble a raw flash image: uImage kernel, 0xff padding to 64 KiB, squashfs root -------
assemble() {
  local name=$1 root=$2
  make_kernel "$work/kernel.gz"
  mkimage -A arm -O linux -T kernel -C gzip -a 0x80008000 -e 0x80008000 \
    -n "Linux-4.14.241" -d "$work/kernel.gz" "$work/uImage" >/dev/null
  # mksquashfs pins every timestamp from SOURCE_DATE_EPOCH itself.
  mksquashfs "$root" "$work/rootfs.sqfs" -comp xz -noappend -all-root -no-progress -quiet >/dev/null
  local ksize pad
  ksize=$(stat -c %s "$work/uImage")
  pad=$(( (65536 - ksize % 65536) % 65536 ))
  { cat "$work/uImage"; head -c "$pad" /dev/zero | tr '\0' '\377'; cat "$work/rootfs.sqfs"; } > "$here/$name"
  echo "$name: $(stat -c %s "$here/$name") bytes (uImage $ksize + pad $pad + squashfs $(stat -c %s "$work/rootfs.sqfs"))"
}

# Which images to build: all by default, or those named (router clean legacy hardened).
targets=" ${*:-router clean legacy hardened formats} "
want() { case "$targets" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# --- router.bin: the planted problems a gate must catch -------------------------------------
if want router; then
r="$work/router-root"
make_rootfs "$r"
# root's password: md5-crypt of "admin", a well-known default; guest: empty password.
root_hash=$(openssl passwd -1 -salt acme0001 admin)
cat > "$r/etc/shadow" <<S
root:$root_hash:19000:0:99999:7:::
admin:!:19000:0:99999:7:::
guest::19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
S
chmod 0600 "$r/etc/shadow"
cat > "$r/etc/init.d/rcS" <<'R'
#!/bin/sh
# Acme router boot script
mount -t proc proc /proc
mount -t sysfs sysfs /sys
hostname -F /etc/hostname
ifconfig lo 127.0.0.1 up
/usr/sbin/httpd -h /www -p 80
# remote support access for the field team
/usr/sbin/telnetd -l /bin/sh -p 23 &
crond
R
chmod 0755 "$r/etc/init.d/rcS"
mkdir -p "$r/etc/ssl/private"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$r/etc/ssl/private/server.key" 2>/dev/null
chmod 0600 "$r/etc/ssl/private/server.key"
# A root shell on the serial console, line 4 of inittab.
printf 'ttyS0::askfirst:-/bin/sh\n' >> "$r/etc/inittab"
# A Dropbear host key baked into the image (Dropbear's own binary format).
command -v dropbearkey >/dev/null || { echo "build.sh: dropbearkey is missing (apt-get install dropbear-bin)" >&2; exit 2; }
mkdir -p "$r/etc/dropbear"
dropbearkey -t ed25519 -f "$r/etc/dropbear/dropbear_ed25519_host_key" >/dev/null 2>&1
# A cloud API key in a config file (line 3) and basic-auth credentials in a CGI script (line 4).
printf '{\n  "endpoint": "https://iot.acme.example/v1",\n  "api_key": "%s"\n}\n' \
  "$(openssl rand -base64 30 | tr -d '+/=\n' | cut -c1-32)" > "$r/etc/config/cloud.json"
mkdir -p "$r/www/cgi-bin"
cat > "$r/www/cgi-bin/sync.cgi" <<C
#!/bin/sh
# pushes the running configuration to the vendor portal
echo "Content-Type: text/plain"; echo
wget -q -O- --header='Authorization: Basic $(printf 'admin:Acme2019!' | base64)' https://portal.acme.example/sync
C
chmod 0755 "$r/www/cgi-bin/sync.cgi"
assemble router.bin "$r"
fi

# --- clean.bin: built the same way, none of those problems ----------------------------------
if want clean || want legacy; then
c="$work/clean-root"
make_rootfs "$c"
# root locked; admin has a per-device random password (sha512-crypt).
admin_hash=$(openssl passwd -6 -salt "$(openssl rand -hex 8)" "$(openssl rand -base64 24)")
cat > "$c/etc/shadow" <<S
root:!:19000:0:99999:7:::
admin:$admin_hash:19000:0:99999:7:::
guest:!:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
S
chmod 0600 "$c/etc/shadow"
cat > "$c/etc/init.d/rcS" <<'R'
#!/bin/sh
# Acme router boot script
mount -t proc proc /proc
mount -t sysfs sysfs /sys
hostname -F /etc/hostname
ifconfig lo 127.0.0.1 up
/usr/sbin/httpd -h /www -p 80 -u nobody:nogroup
# telnetd is not started: remote support uses the signed update channel only
crond
R
chmod 0755 "$c/etc/init.d/rcS"
want clean && assemble clean.bin "$c"
fi

# --- legacy.bin: the clean root the way older vendor builds ship it -------------------------
# An lzma-alone kernel in the uImage (mkimage -C lzma), a gzip-compressed SquashFS, and the
# factory defaults also as a zstd frame (what newer vendor tools write).
if want legacy; then
  command -v zstd >/dev/null || { echo "build.sh: zstd is missing (apt-get install zstd)" >&2; exit 2; }
  l="$work/legacy-root"
  cp -a "$c" "$l"
  printf 'lan_ipaddr=192.168.1.1\nlan_netmask=255.255.255.0\nwan_proto=dhcp\n' \
    | zstd -19 -q -c > "$l/etc/config/factory-defaults.zst"
  make_kernel_raw "$work/vmlinux"
  xz --format=lzma -9 -c "$work/vmlinux" > "$work/kernel.lzma"
  mkimage -A mips -O linux -T kernel -C lzma -a 0x80060000 -e 0x80060000 \
    -n "Linux-2.6.36" -d "$work/kernel.lzma" "$work/uImage" >/dev/null
  mksquashfs "$l" "$work/rootfs.sqfs" -comp gzip -noappend -all-root -no-progress -quiet >/dev/null
  ksize=$(stat -c %s "$work/uImage")
  pad=$(( (65536 - ksize % 65536) % 65536 ))
  { cat "$work/uImage"; head -c "$pad" /dev/zero | tr '\0' '\377'; cat "$work/rootfs.sqfs"; } > "$here/legacy.bin"
  echo "legacy.bin: $(stat -c %s "$here/legacy.bin") bytes"
fi

# --- hardened.bin: a realistic hardened image of real Debian armhf binaries ------------------
# OpenSSH (sshd, ssh, ssh-keygen, set-uid ssh-keysign), Dropbear, BusyBox, glibc, OpenSSL's
# libcrypto, a CA bundle and authorized_keys: files that carry PEM headers, key-format strings
# and magics as constants. /lib is a link to usr/lib (Debian's merged /usr). It must pass the
# gate with no finding at or above high.
if want hardened; then
  debs=${HARDENED_DEBS:-$work/hdebs}
  mkdir -p "$debs"
  if [ -z "$(ls "$debs"/*.deb 2>/dev/null)" ]; then
    dpkg --print-foreign-architectures | grep -qx "$arch" || { dpkg --add-architecture "$arch"; apt-get update -qq || true; }
    (cd "$debs" && for p in openssh-server:$arch openssh-client:$arch dropbear-bin:$arch busybox:$arch \
        libc6:$arch libssl3:$arch zlib1g:$arch libcrypt1:$arch ca-certificates; do apt-get download -q "$p" >/dev/null; done)
  fi
  x="$work/hdeb"
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$x"; echo "hardened: $(basename "$d")"; done
  h="$work/hardened-root"
  mkdir -p "$h"/{bin,sbin,etc/init.d,etc/ssh,etc/dropbear,etc/ssl/certs,dev,proc,sys,tmp,var/run,root/.ssh}
  mkdir -p "$h"/usr/{bin,sbin,lib/openssh,lib/arm-linux-gnueabihf}
  ln -s usr/lib "$h/lib"
  install -m 0755 "$x/bin/busybox" "$h/bin/busybox"
  for a in ash sh cat cp echo grep kill killall ln ls mkdir mount ps rm sleep umount; do ln -s busybox "$h/bin/$a"; done
  for a in getty halt init reboot syslogd; do ln -s ../bin/busybox "$h/sbin/$a"; done
  install -m 0755 "$x/usr/sbin/sshd" "$h/usr/sbin/sshd"
  install -m 0755 "$x/usr/bin/ssh" "$x/usr/bin/ssh-keygen" "$h/usr/bin/"
  install -m 4755 "$x/usr/lib/openssh/ssh-keysign" "$h/usr/lib/openssh/ssh-keysign"
  install -m 0755 "$x/usr/sbin/dropbear" "$h/usr/sbin/dropbear"
  install -m 0755 "$x/usr/bin/dropbearkey" "$h/usr/bin/dropbearkey"
  install -m 0755 "$x/usr/lib/dropbear/dropbearconvert" "$h/usr/bin/dropbearconvert"
  for l in ld-linux-armhf.so.3 libc.so.6 libm.so.6 libresolv.so.2; do
    cp -L "$x/lib/arm-linux-gnueabihf/$l" "$h/usr/lib/arm-linux-gnueabihf/$l"
  done
  for l in libcrypto.so.3 libssl.so.3 libz.so.1 libcrypt.so.1; do
    cp -L "$x"/usr/lib/arm-linux-gnueabihf/$l "$h/usr/lib/arm-linux-gnueabihf/$l" 2>/dev/null \
      || cp -L "$x"/lib/arm-linux-gnueabihf/$l "$h/usr/lib/arm-linux-gnueabihf/$l"
  done
  cat "$x"/usr/share/ca-certificates/mozilla/*.crt > "$h/etc/ssl/certs/ca-certificates.crt"
  # Debian's default sshd_config, hardened the usual way: no passwords, no root passwords.
  cp "$x/usr/share/openssh/sshd_config" "$h/etc/ssh/sshd_config"
  printf '\n# Acme hardening\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n' >> "$h/etc/ssh/sshd_config"
  cp "$x/etc/ssh/ssh_config" "$h/etc/ssh/ssh_config"
  ssh-keygen -q -t ed25519 -N '' -C field-support@acme.example -f "$work/support" >/dev/null
  install -m 0600 "$work/support.pub" "$h/root/.ssh/authorized_keys"
  cat > "$h/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
admin:x:1000:1000:Administrator:/home/admin:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
  printf 'root:x:0:\nadmin:x:1000:\nnogroup:x:65534:\n' > "$h/etc/group"
  # admin: a per-device random password, hashed with yescrypt (libxcrypt, as Debian 12 does).
  admin_hash=$(python3 -W ignore -c 'import crypt,secrets; print(crypt.crypt(secrets.token_urlsafe(18), "$y$j9T$" + secrets.token_urlsafe(12)[:16] + "$"))')
  case "$admin_hash" in '$y$'*) ;; *) echo "build.sh: no yescrypt in this libcrypt" >&2; exit 2 ;; esac
  printf 'root:!:19000:0:99999:7:::\nsshd:!:19000::::::\nadmin:%s:19000:0:99999:7:::\nnobody:*:19000::::::\n' "$admin_hash" > "$h/etc/shadow"
  chmod 0600 "$h/etc/shadow"
  cat > "$h/etc/inittab" <<'I'
::sysinit:/etc/init.d/rcS
ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100
::shutdown:/bin/umount -a -r
I
  cat > "$h/etc/init.d/rcS" <<'R'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for s in /etc/init.d/S??*; do
  [ -x "$s" ] && "$s" start
done
R
  cat > "$h/etc/init.d/S40dropbear" <<'R'
#!/bin/sh
# Dropbear on port 2222 for the field team: keys only (-s), host keys made at first boot (-R).
case "$1" in
  start)
    /usr/sbin/dropbear -R -s -p 2222
    ;;
  stop)
    killall dropbear
    # images before 2.0 ran telnetd; make sure an upgraded unit stops it
    killall telnetd 2>/dev/null || true
    ;;
esac
R
  cat > "$h/etc/init.d/S50sshd" <<'R'
#!/bin/sh
start() {
  [ -f /etc/ssh/ssh_host_ed25519_key ] || /usr/bin/ssh-keygen -A
  /usr/sbin/sshd
}
case "$1" in
  start) start ;;
  stop) killall sshd ;;
  *) echo "usage: $0 start|stop" >&2; exit 1 ;;
esac
R
  chmod 0755 "$h"/etc/init.d/*
  chmod 0700 "$h/root" "$h/root/.ssh"
  assemble hardened.bin "$h"
fi

# --- formats/: one small sample per container format, each made by its real tool -----------
# The tests extract each with fwgate and with the format's reference tool and compare the
# trees by sha256 (tests/formats_*.rs). Every sample holds the same small tree (make_tree).
fmt="$here/formats"

# A small root file system with what extraction must keep: nested directories, text and
# binary files, an empty file, a symlink (relative, absolute, dangling), a hard link, set-id
# and sticky bits, owners other than root, and (as root) a device node and a pipe.
make_tree() {
  local t=$1
  mkdir -p "$t"/{bin,etc/init.d,usr/lib/deep/er,tmp,dev,www/cgi-bin,empty}
  printf 'root::0:0:99999:7:::\nadmin:$1$abc$AJtuVZqgzYRTfJnvUYqeO/:19000:0:99999:7:::\n' > "$t/etc/shadow"
  chmod 0600 "$t/etc/shadow"
  printf 'root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000::/www:/bin/sh\n' > "$t/etc/passwd"
  printf '#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh\n' > "$t/etc/init.d/rcS"
  chmod 0755 "$t/etc/init.d/rcS"
  printf '::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\n' > "$t/etc/inittab"
  # Binary content that compresses only a little, across several 4 KiB pages.
  head -c 70000 /dev/zero | openssl enc -aes-128-ctr -nosalt -K 00112233445566778899aabbccddeeff -iv 0 2>/dev/null > "$t/usr/lib/libfake.so"
  seq 1 20000 > "$t/usr/lib/deep/er/numbers.txt"
  : > "$t/empty/.keep"
  : > "$t/usr/lib/zero-length"
  printf '#!/bin/sh\necho ok\n' > "$t/bin/suid-helper"
  chmod 4755 "$t/bin/suid-helper"
  chmod 1777 "$t/tmp"
  ln "$t/etc/passwd" "$t/etc/passwd.hardlink"
  ln -s ../etc/init.d/rcS "$t/bin/rcS-rel"
  ln -s /etc/shadow "$t/bin/shadow-abs"
  ln -s /nowhere/at/all "$t/bin/dangling"
  printf 'ok\n' > "$t/www/cgi-bin/status.cgi"
  chown 1000:1000 "$t/www/cgi-bin/status.cgi" 2>/dev/null || true
  if [ "$(id -u)" -eq 0 ]; then
    mknod "$t/dev/console" c 5 1
    mknod "$t/dev/mtdblock0" b 31 0
    mkfifo "$t/dev/initctl"
  fi
  find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# Archives: tar (ustar, GNU, pax), cpio (newc, crc, odc, bin), zip (stored, deflate, zip64).
build_formats_archives() {
  local g="$work/archive-long" n
  # GNU and pax: a file name of 110 characters (a ustar header cannot hold it: GNU writes an
  # `L` record, pax a `path` record), a link target of 120 (`K` / `linkpath`), and an owner
  # above the 7 octal digits of a ustar field (pax `uid`/`gid`; GNU base-256).
  cp -a "$tree" "$g"
  n=$(printf 'l%.0s' $(seq 1 110))
  printf 'long name\n' > "$g/usr/lib/deep/er/$n"
  ln -s "../../../../usr/lib/deep/er/$(printf 't%.0s' $(seq 1 100))" "$g/usr/lib/long-target"
  printf 'big owner\n' > "$g/usr/lib/big-owner"
  chown 3000000:3000001 "$g/usr/lib/big-owner"
  find "$g" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  local topts=(--sort=name --numeric-owner --mtime="@$SOURCE_DATE_EPOCH")
  # GNU only: a sparse file (two data segments in 1 MiB), stored as an `S` entry.
  local gs="$work/archive-gnu"
  cp -a "$g" "$gs"
  printf 'head' > "$gs/usr/lib/sparse.img"
  truncate -s 1M "$gs/usr/lib/sparse.img"
  printf 'middle' | dd of="$gs/usr/lib/sparse.img" bs=1 seek=524288 conv=notrunc status=none
  touch -d "@$SOURCE_DATE_EPOCH" "$gs/usr/lib/sparse.img" "$gs/usr/lib"
  tar -C "$gs" --format=gnu -S "${topts[@]}" -cf "$fmt/gnu.tar" .
  tar -C "$g" --format=pax "${topts[@]}" --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$fmt/pax.tar" .
  # ustar: a path over 100 characters split into prefix and name.
  local u="$work/archive-ustar"
  cp -a "$tree" "$u"
  mkdir -p "$u/usr/lib/$(printf 'd%.0s' $(seq 1 90))"
  printf 'split path\n' > "$u/usr/lib/$(printf 'd%.0s' $(seq 1 90))/prefix-split.txt"
  find "$u" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  tar -C "$u" --format=ustar "${topts[@]}" -cf "$fmt/ustar.tar" .
  local f
  for f in newc crc odc bin; do
    (cd "$tree" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | cpio -o -H "$f" --quiet) > "$fmt/$f.cpio"
  done
  # zip stores no devices or pipes (and reading a device node would read the device).
  rm -f "$fmt/deflate.zip" "$fmt/stored.zip" "$fmt/zip64.zip"
  (cd "$tree" && zip -q -y -r "$fmt/deflate.zip" . -x 'dev/*')
  (cd "$tree" && zip -q -y -r -0 "$fmt/stored.zip" . -x 'dev/*')
  (cd "$tree" && zip -q -y -r -fz "$fmt/zip64.zip" . -x 'dev/*')
  ls -l "$fmt"/*.tar "$fmt"/*.cpio "$fmt"/*.zip
}

# Flash file systems: JFFS2 (both endians, zlib/lzma/rtime, erase-block padding), UBI/UBIFS.
build_formats_flash() {
  # JFFS2: 64 KiB erase blocks, padded to the end of the last one (0xff); default zlib with
  # rtime as fallback, both endians; rtime alone; lzo first (lzo is off unless asked for).
  mkfs.jffs2 -r "$tree" -l -e 0x10000 --pad -o "$fmt/le.jffs2"
  mkfs.jffs2 -r "$tree" -b -e 0x10000 --pad -o "$fmt/be.jffs2"
  mkfs.jffs2 -r "$tree" -l -e 0x10000 --pad -x zlib -o "$fmt/rtime.jffs2"
  mkfs.jffs2 -r "$tree" -l -e 0x10000 --pad -X lzo -x zlib -o "$fmt/lzo.jffs2"
  # UBIFS: the smallest geometry UBIFS allows (512-byte pages, 16 KiB PEBs, 15 KiB LEBs, two
  # log LEBs); even so an empty UBIFS takes 11 LEBs (165 KiB). ubifs.img is the whole tree,
  # zlib. ubi.img holds two volumes: "rootfs", a dynamic UBIFS (lzo) of the tree without its
  # two bulky files (they would double the sample; ubifs.img covers them), and "data", a
  # static volume holding a small SquashFS (static volumes carry data CRCs).
  local u="$work/ubi"
  mkdir -p "$u/data/conf"
  cp -a "$tree" "$u/root"
  rm "$u/root/usr/lib/libfake.so" "$u/root/usr/lib/deep/er/numbers.txt"
  printf 'wan=dhcp\nadmin_pass=admin\n' > "$u/data/conf/network"
  ln -s network "$u/data/conf/current"
  find "$u/root" "$u/data" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  mkfs.ubifs -r "$tree" -m 512 -e 15360 -c 64 -l 2 -x zlib -o "$fmt/ubifs.img"
  mkfs.ubifs -r "$u/root" -m 512 -e 15360 -c 64 -l 2 -x lzo -o "$u/rootfs.ubifs"
  mksquashfs "$u/data" "$u/data.sqfs" -comp gzip -noappend -all-root -no-progress -quiet >/dev/null
  cat > "$u/ubi.ini" <<U
[rootfs]
mode=ubi
image=$u/rootfs.ubifs
vol_id=0
vol_type=dynamic
vol_name=rootfs
[data]
mode=ubi
image=$u/data.sqfs
vol_id=1
vol_type=static
vol_name=data
U
  ubinize -o "$fmt/ubi.img" -p 16KiB -m 512 -s 512 -Q 1 "$u/ubi.ini" 2>/dev/null
  ls -l "$fmt"/*.jffs2 "$fmt/ubi.img" "$fmt/ubifs.img"
}

# Block file systems: ext2/3/4, CramFS, EROFS.
build_formats_fs() {
  # ext2/3/4: 1 KiB blocks, few inodes, pinned uuid, hash seed and time, so that the images
  # are small and reproducible. ext3 needs a journal of at least 1024 blocks (the e2fsprogs
  # minimum, in a file system of at least 2100 blocks), so it is the largest sample: 2.1 MB,
  # almost all of it the zeroed journal.
  local uuid=6f1b3c2a-5d4e-4f60-8a7b-9c0d1e2f3a4b seed=0b1c2d3e-4f50-4162-8374-95a6b7c8d9ea
  local e2=(-q -F -b 1024 -N 64 -m 0 -U "$uuid" -E "hash_seed=$seed,root_owner=0:0" -d "$tree")
  export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
  rm -f "$fmt/ext2.img" "$fmt/ext3.img" "$fmt/ext4.img" "$fmt/ext2-genext2fs.img"
  mke2fs -t ext2 "${e2[@]}" "$fmt/ext2.img" 320
  mke2fs -t ext3 -J size=1 "${e2[@]}" "$fmt/ext3.img" 2100
  mke2fs -t ext4 -O ^has_journal,inline_data "${e2[@]}" "$fmt/ext4.img" 320
  # mke2fs -d copies each file's ctime (which no one can set) and atime (which reading it for
  # the previous image moved): pin both in every inode in use.
  local img n cmds="$work/ext-ctime.cmds"
  for img in ext2 ext3 ext4; do
    : > "$cmds"
    for n in $(seq 1 64); do
      if debugfs -R "testi <$n>" "$fmt/$img.img" 2>/dev/null | grep -q "in use"; then
        printf 'sif <%s> ctime @%s\nsif <%s> atime @%s\n' "$n" "$SOURCE_DATE_EPOCH" "$n" "$SOURCE_DATE_EPOCH" >> "$cmds"
      fi
    done
    debugfs -w -f "$cmds" "$fmt/$img.img" >/dev/null 2>&1
  done
  unset E2FSPROGS_FAKE_TIME
  # genext2fs: another writer of ext2 (no resize inode, its own layout).
  genext2fs -N 64 -b 320 -m 0 -f -d "$tree" "$fmt/ext2-genext2fs.img"
  # CramFS: zlib blocks, devices (not -z: fsck.cramfs refuses the holes flag).
  mkfs.cramfs -N little "$tree" "$fmt/cramfs.img"
  mkfs.cramfs -N big "$tree" "$fmt/cramfs-be.img"
  # EROFS, uncompressed (plain and tail-inline layouts): fwgate does not decode its lz4 yet.
  mkfs.erofs --quiet -T "$SOURCE_DATE_EPOCH" -U "$uuid" "$fmt/erofs.img" "$tree"
}

# Wrappers and streams: uImage (every compression), FIT/FDT, TRX, Android sparse, Intel HEX,
# S-record, zlib, bzip2, lz4 (frame and legacy), lzo.
build_formats_wrappers() {
  local w="$work/wrappers" rcs="$tree/etc/init.d/rcS"
  rm -rf "$w"; mkdir -p "$w/mini/etc/init.d" "$w/mini/bin"
  # The payload of every sample: a small SquashFS (a handler already in the tree) of part of
  # $tree, so each sample ends in files the device sees by name, which the scanner checks
  # (the empty root password in /etc/shadow, telnetd -l in rcS).
  cp -a "$tree/etc/shadow" "$tree/etc/passwd" "$w/mini/etc/"
  cp -a "$rcs" "$w/mini/etc/init.d/"
  cp -a "$tree/bin/suid-helper" "$tree/bin/rcS-rel" "$w/mini/bin/"
  touch -h -d "@$SOURCE_DATE_EPOCH" "$w/mini" "$w/mini/etc" "$w/mini/etc/init.d" "$w/mini/bin"
  mksquashfs "$w/mini" "$w/root.sqfs" -comp gzip -noappend -no-progress -quiet -nopad -no-xattrs >/dev/null
  local root="$w/root.sqfs"
  touch -d "@$SOURCE_DATE_EPOCH" "$root"   # lzop stores the input's mtime
  # Streams of it.
  bzip2 -9 -c "$root" > "$fmt/shadow.bz2"
  lz4 -9 -q -c "$root" > "$fmt/shadow.lz4"          # frame format, content checksum
  lz4 -l -9 -q -c "$root" > "$fmt/legacy.lz4"       # legacy format (kernel initramfs)
  lzop -9 -c "$root" > "$fmt/shadow.lzo"
  # A raw zlib stream mid-file: 256 zero bytes, the stream, 0xff padding to 4 KiB.
  python3 - "$root" "$fmt/shadow.zlib" <<'PY'
import sys, zlib
data = zlib.compress(open(sys.argv[1], "rb").read(), 9)
blob = bytes(256) + data
blob += b"\xff" * (4096 - len(blob))
open(sys.argv[2], "wb").write(blob)
PY
  # uImages with every compression field, each holding the file system compressed that way.
  bzip2 -9 -c "$root" > "$w/root.bzip2"
  lzma -9 -c "$root" > "$w/root.lzma"
  lzop -9 -c "$root" > "$w/root.lzo"
  lz4 -9 -q -c "$root" > "$w/root.lz4"
  zstd -19 -q -c "$root" > "$w/root.zstd"
  cp "$root" "$w/root.none"
  local c
  for c in none bzip2 lzma lzo lz4 zstd; do
    mkimage -A arm -O linux -T kernel -C "$c" -a 0x80008000 -e 0x80008000 \
      -n "root-$c" -d "$w/root.$c" "$fmt/uimage-$c.bin" >/dev/null
  done
  mkimage -A arm -O linux -T multi -C none -a 0 -e 0 -n multi \
    -d "$rcs:$root" "$fmt/multi.uimage" >/dev/null
  # FIT: a kernel (the rcS script, uncompressed) and a gzip'd ramdisk (the file system);
  # once with embedded data, once with external data (mkimage -E).
  cp "$rcs" "$w/rcS"
  gzip -9 -n -c "$root" > "$w/root.gz"
  cat > "$w/fit.its" <<'ITS'
/dts-v1/;
/ {
	description = "fwgate FIT sample";
	#address-cells = <1>;
	images {
		kernel {
			description = "rcS as a kernel";
			data = /incbin/("rcS");
			type = "kernel";
			arch = "arm";
			os = "linux";
			compression = "none";
			load = <0x80008000>;
			entry = <0x80008000>;
			hash-1 { algo = "crc32"; };
		};
		ramdisk {
			description = "root file system as a ramdisk";
			data = /incbin/("root.gz");
			type = "ramdisk";
			arch = "arm";
			os = "linux";
			compression = "gzip";
			hash-1 { algo = "sha1"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 { kernel = "kernel"; ramdisk = "ramdisk"; };
	};
};
ITS
  (cd "$w" && mkimage -f fit.its "$fmt/fit.itb" >/dev/null && mkimage -E -f fit.its "$fmt/fit-external.itb" >/dev/null)
  # A plain device tree blob.
  cat > "$w/plain.dts" <<'DTS'
/dts-v1/;
/ {
	model = "Acme Router";
	compatible = "acme,router";
	#address-cells = <1>;
	#size-cells = <1>;
	chosen { bootargs = "console=ttyS0,115200 root=/dev/mtdblock2"; };
	memory@80000000 { device_type = "memory"; reg = <0x80000000 0x4000000>; };
};
DTS
  dtc -q -I dts -O dtb -o "$fmt/plain.dtb" "$w/plain.dts"
  # TRX: no Debian tool writes it, so this follows OpenWrt's trx format (firmware-utils
  # trx.c): a v1 header, partitions aligned to 4 bytes, CRC32 as CFE computes it.
  bzip2 -9 -c "$rcs" > "$w/rcS.bz2"
  python3 - "$w/rcS.bz2" "$root" "$fmt/trx.bin" <<'PY'
import struct, sys, zlib
parts = [open(p, "rb").read() for p in sys.argv[1:3]]
hdr_len, offsets, body = 28, [], b""
for p in parts:
    offsets.append(hdr_len + len(body))
    body += p + bytes(-len(p) % 4)
offsets += [0] * (3 - len(offsets))
length = hdr_len + len(body)
tail = struct.pack("<HH3I", 0, 1, *offsets) + body
crc = zlib.crc32(tail) ^ 0xffffffff
open(sys.argv[3], "wb").write(b"HDR0" + struct.pack("<II", length, crc) + tail)
PY
  # Android sparse: a 64 KiB image with the file system at 0 and rcS bzip2'd at 32 KiB,
  # 0xff blocks and zero blocks (fill chunks).
  python3 - "$root" "$w/rcS.bz2" "$w/raw.img" <<'PY'
import sys
bz, gz = (open(p, "rb").read() for p in sys.argv[1:3])
with open(sys.argv[3], "wb") as f:
    f.write(bz + bytes(4096 - len(bz)))
    f.write(b"\xff" * 8192)
    f.seek(32768)
    f.write(gz + bytes(4096 - len(gz)))
    f.seek(49152)
    f.write(bytes(4096))
    f.truncate(65536)
PY
  img2simg "$w/raw.img" "$fmt/sparse.simg" 4096
  # Intel HEX and S-records of the file system (which holds rcS).
  objcopy -I binary -O ihex "$root" "$fmt/rcs.hex"
  objcopy -I binary -O srec "$root" "$fmt/rcs.srec"
}

# SquashFS: every compressor mksquashfs has (big-endian SquashFS 4 has no tool in Debian).
build_formats_squashfs() {
  local c
  for c in gzip lzma lzo lz4 xz zstd; do
    mksquashfs "$tree" "$fmt/squashfs-$c.sqfs" -comp "$c" -noappend -no-progress -quiet >/dev/null
  done
}

# What vendors ship, as the issue that asked for these formats found them unopened: a
# kernel with an initramfs (a gzip newc cpio) next to a SquashFS root in one flash image; an
# update package (a tar.gz holding an ext2 image of the root and a manifest); the same
# package zipped.
build_formats_vendor() {
  local v=$work/vendor
  mkdir -p "$v/initramfs/dev" "$v/pkg"
  printf '#!/bin/sh\nmount -t squashfs /dev/mtdblock1 /rom && exec switch_root /rom /sbin/init\n' > "$v/initramfs/init"
  chmod 0755 "$v/initramfs/init"
  (cd "$v/initramfs" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet | gzip -9n) > "$v/initramfs.cpio.gz"
  make_kernel_raw "$v/kernel"
  gzip -9n < "$v/kernel" > "$v/kernel.gz"
  mkimage -A arm -O linux -T kernel -C gzip -a 0x80008000 -e 0x80008000 -n "Linux" -d "$v/kernel.gz" "$v/uImage" >/dev/null
  mkimage -A arm -O linux -T ramdisk -C gzip -n "initramfs" -d "$v/initramfs.cpio.gz" "$v/uRamdisk" >/dev/null
  mksquashfs "$tree" "$v/root.sqfs" -comp xz -noappend -no-progress -quiet >/dev/null
  python3 - "$v/uImage" "$v/uRamdisk" "$v/root.sqfs" "$fmt/initramfs-squashfs.bin" <<'PY'
import sys
parts = [open(p, 'rb').read() for p in sys.argv[1:4]]
out = b''
for p in parts:
    out += p
    out += b'\xff' * (-len(out) % 0x10000)
open(sys.argv[4], 'wb').write(out)
PY
  genext2fs -q -N 64 -b 512 -d "$tree" "$v/pkg/rootfs.ext2"
  printf 'product=acme-router\nversion=2.4.1\nimage=rootfs.ext2\n' > "$v/pkg/manifest.txt"
  touch -d "@$SOURCE_DATE_EPOCH" "$v/pkg"/*
  tar -C "$v/pkg" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -cf - . | gzip -9n > "$fmt/update.tar.gz"
  rm -f "$fmt/update.zip"
  (cd "$v/pkg" && zip -qX "$fmt/update.zip" manifest.txt rootfs.ext2)
}

# A raw flash dump: a SquashFS of the tree, erased flash (0xff) to the next 64 KiB, a program
# (Debian's armhf /bin/true, from coreutils) where a vendor would put a standalone binary,
# zero padding to the end of the erase block. The engine must find every part across the
# padding and carve the ELF for the scanner.
build_formats_dump() {
  local deb=${COREUTILS_DEB:-}
  if [ -z "$deb" ]; then
    (cd "$work" && apt-get download -q "coreutils:$arch" >/dev/null)
    deb=$(ls "$work"/coreutils_*_"$arch".deb)
  fi
  dpkg-deb -x "$deb" "$work/coreutils"
  mksquashfs "$tree" "$work/dump.sqfs" -comp xz -noappend -no-progress -quiet >/dev/null
  python3 - "$work/dump.sqfs" "$work/coreutils/bin/true" "$fmt/flash-dump.bin" <<'PY'
import sys
sqfs, elf = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
block = 0x10000
up = lambda n: (n + block - 1) // block * block
out = sqfs + b'\xff' * (up(len(sqfs)) - len(sqfs))
out += elf + b'\x00' * (up(len(out) + len(elf)) - len(out) - len(elf))
open(sys.argv[3], 'wb').write(out)
PY
}

if want formats; then
  mkdir -p "$fmt"
  tree="$work/format-tree"
  make_tree "$tree"
  # FORMATS="squashfs vendor" rebuilds only those groups.
  for group in ${FORMATS:-archives flash fs wrappers squashfs dump vendor}; do
    "build_formats_$group"
  done
fi

(cd "$here" && sha256sum router.bin clean.bin legacy.bin hardened.bin > SHA256SUMS
 [ -d formats ] && find formats -type f ! -name '*.md' | LC_ALL=C sort | xargs -r sha256sum >> SHA256SUMS)
echo "done: $(cat "$here/SHA256SUMS" | tr '\n' ' ')"
