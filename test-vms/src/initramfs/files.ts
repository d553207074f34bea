// What goes into the test initramfs besides busybox: the /init script, the udhcpc script and
// the applets linked to busybox. Kept small: every byte is unpacked by emulated kernel code.

/** Where Debian's busybox-static lives. */
export const BUSYBOX = process.env.VMM_BUSYBOX ?? '/bin/busybox';

/** The line /init prints once userspace runs; the tests and the monitor wait for it. */
export const READY_MARKER = 'VMM-READY';

/** Applets linked as /bin/<name>; /sbin, /usr/bin and /usr/sbin point at /bin. */
export const APPLETS = [
  'sh',
  'ash',
  'cttyhack',
  'setsid',
  'mount',
  'umount',
  'mkdir',
  'rm',
  'cp',
  'mv',
  'ln',
  'ls',
  'cat',
  'echo',
  'printf',
  'test',
  '[',
  'true',
  'false',
  'sleep',
  'head',
  'tail',
  'wc',
  'grep',
  'sed',
  'cut',
  'tr',
  'sort',
  'dd',
  'sync',
  'stat',
  'sha256sum',
  'md5sum',
  'cmp',
  'uname',
  'nproc',
  'free',
  'uptime',
  'dmesg',
  'ps',
  'kill',
  'date',
  'hexdump',
  'od',
  'xxd',
  'poweroff',
  'reboot',
  'halt',
  'ip',
  'ifconfig',
  'route',
  'udhcpc',
  'wget',
  'nc',
  'httpd',
  'ping',
  'nslookup',
  'mke2fs',
  'blockdev',
  'timeout',
  'env',
  'id',
  'hostname',
] as const;

/**
 * /init: mount the pseudo file systems, say we are ready (with the uptime, so the host can
 * tell boot time from console latency), then a shell with a controlling terminal on the
 * console (cttyhack opens the real tty behind /dev/console, setsid makes it the session's, so
 * job control and ctrl-c work). When that shell exits the guest powers off.
 */
export const INIT_SCRIPT = `#!/bin/sh
export PATH=/bin HOME=/root TERM=vt100
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /tmp
read up _ < /proc/uptime
echo "${READY_MARKER} $up"
cd /root
setsid cttyhack sh
poweroff -f
`;

/**
 * Debian's busybox udhcpc runs /etc/udhcpc/default.script after each event ($1) with the
 * lease in the environment ($interface, $ip, $mask as a prefix length, $router, $dns,
 * $domain). Without it udhcpc "succeeds" and configures nothing.
 */
export const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
deconfig)
  ip -4 addr flush dev "$interface"
  ip link set "$interface" up
  ;;
bound|renew)
  ip -4 addr flush dev "$interface"
  ip addr add "$ip/\${mask:-24}" \${broadcast:+broadcast "$broadcast"} dev "$interface"
  if [ -n "$router" ]; then
    while ip route del default 2>/dev/null; do :; done
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done
  fi
  : > /etc/resolv.conf
  [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
  for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
  ;;
esac
exit 0
`;
