#!/usr/bin/env bash
# Installs the Debian packages the project needs (tests, test-vms builders, benchmarks),
# only those missing. Idempotent; run as root (or with sudo available).
set -euo pipefail
PKGS=(
  gcc make binutils           # test guests
  qemu-system-x86             # the reference monitor and benchmark peer
  busybox-static cpio         # initramfs (cpio only to check ours with cpio -t)
  linux-source-6.1 xz-utils perl flex bison bc libelf-dev libssl-dev dwarves kmod  # the minimal kernel
  acpica-tools                # iasl -d checks our ACPI tables
  e2fsprogs                   # mkfs.ext4 -d, debugfs
  strace                      # the flush-durability test sees fdatasync happen
  iproute2 slirp4netns passt iperf3  # NAT tests and benchmark peers
  socat curl                  # clients of the vsock socket and of the SOCKS5 proxy in tests
  attr fuse bindfs            # xattr tools through the FUSE mount; bindfs is pnpm bench fs's peer
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system deps: all ${#PKGS[@]} Debian packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "system deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "system deps: installed"
