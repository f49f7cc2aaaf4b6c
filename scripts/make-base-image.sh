#!/usr/bin/env bash
# Make the image's base locally when the official python:3.11-slim-bookworm cannot be pulled:
# a Debian bookworm root filesystem from debootstrap with Python 3.11 in a venv at /usr/local,
# so `python` and `pip` are where the official image has them. Imported as $BASE_TAG.
# Re-runs reuse the image (delete it with `podman rmi $BASE_TAG` to rebuild it).
#
#   scripts/make-base-image.sh [TAG]     (default localhost/calfcoach-base:bookworm)
set -euo pipefail

BASE_TAG="${1:-localhost/calfcoach-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if podman image exists "$BASE_TAG"; then
  echo "==> base image $BASE_TAG exists; reusing it"
  exit 0
fi
for tool in debootstrap podman; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done

rootfs="$(mktemp -d /var/tmp/calfcoach-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "==> debootstrap bookworm into $rootfs (about 1-2 min)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || {
  echo "error: debootstrap failed; its log:" >&2; tail -30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

# Python in a venv at /usr/local: /usr/local/bin/python and pip, like the official image.
chroot "$rootfs" /usr/bin/python3 -m venv /usr/local
chroot "$rootfs" /usr/local/bin/python -m pip --version >/dev/null
# Keep it small: no apt lists, no package cache, no docs.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
  "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

echo "==> importing it as $BASE_TAG"
tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$BASE_TAG" >/dev/null
podman run --rm "$BASE_TAG" python -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version'
echo "==> base image $BASE_TAG ready"
