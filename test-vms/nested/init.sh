#!/bin/sh
# PID 1 of the nested-KVM host VM (test-vms/src/nested/run.ts): the host's root read-only over
# 9p, tmpfs where things are written, the repository and an exchange folder read-write over 9p.
# Runs the exchange folder's run.sh on the console, writes its exit code next to it, powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
# Tells tools where they run (pnpm bench labels its tables with it).
export VMM_NESTED_HOST=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/shm /dev/pts
mount -t tmpfs shm /dev/shm
mount -t devpts pts /dev/pts
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
# Loopback: tests serve and forward ports on 127.0.0.1.
ip link set lo up
opts=trans=virtio,version=9p2000.L,msize=512000
arg() { sed -n "s/.*vmm\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
xchg=$(arg xchg) repo=$(arg repo) cache=$(arg cache)
# Each folder is mounted where it is on the host, so paths mean the same inside and out.
for share in xchg repo cache; do
  dir=$(arg "$share")
  mkdir -p "$dir" 2>/dev/null
  mount -t 9p -o "$opts" "$share" "$dir" || echo "nested: cannot mount $share on $dir"
done
# Through a pipe, not the console itself: tools that see a terminal redraw progress lines.
cd "$repo" && { sh "$xchg/run.sh" </dev/null 2>&1; echo $? >"$xchg/rc"; } | cat >/dev/console
sync
exec poweroff -f
