# Sourced by the ci/ scripts that test on real Debian packages.
# fetch_debs TAG DIR MIN PKG... — downloads the packages into DIR with `apt-get download`
# (adding the foreign architectures they name) unless DIR already holds .debs. When that is
# not possible (not root, mirror unreachable, fewer than MIN packages) it prints
# "TAG: SKIPPED (why)" and exits the calling script with 0.
fetch_debs() {
  local tag=$1 dir=$2 min=$3 a n
  shift 3
  mkdir -p "$dir"
  if [ -z "$(ls "$dir"/*.deb 2>/dev/null)" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "$tag: SKIPPED (not root and no .debs in $dir)"; exit 0
    fi
    for a in $(printf '%s\n' "$@" | sed -n 's/.*:\(armhf\|mipsel\|arm64\)$/\1/p' | sort -u); do
      dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
    done
    # A mirror mid-sync can fail one index; retry once, then tolerate it.
    apt-get update -qq >/dev/null 2>&1 || apt-get update -qq >/dev/null 2>&1 || true
    (cd "$dir" && for p in "$@"; do apt-get download -q "$p" >/dev/null 2>&1 || echo "$tag: could not download $p"; done)
  fi
  n=$(ls "$dir"/*.deb 2>/dev/null | wc -l)
  if [ "$n" -lt "$min" ]; then
    echo "$tag: SKIPPED (only $n packages could be downloaded)"; exit 0
  fi
}
