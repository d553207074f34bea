// Parses what a test guest printed on COM1. The format is defined once, in
// test-vms/guests/lib/report.h; this follows it line by line. Unknown lines are kept in `other`
// (a monitor's own messages may be interleaved), never an error.

export interface GuestStartInfo {
  magic: number;
  version: number;
  flags: number;
  nrModules: number;
}

/** A PVH memmap entry (MEM) or a zero-page E820 entry (E820). */
export interface GuestMemoryEntry {
  addr: bigint;
  size: bigint;
  type: number;
}

export interface GuestAcpiTable {
  signature: string;
  length: number;
  checksumOk: boolean;
}

export interface GuestRsdp {
  addr: bigint;
  source: string;
  revision: number;
}

export interface GuestPowerOff {
  slpTyp: number;
  register: string;
}

export interface GuestOutput {
  startInfo: GuestStartInfo | undefined;
  memory: GuestMemoryEntry[];
  e820: GuestMemoryEntry[];
  /** The command line's exact text, or undefined when no CMDLINE ... CMDLINE-END was seen. */
  cmdline: string | undefined;
  rsdp: GuestRsdp | undefined;
  acpi: GuestAcpiTable[];
  madtCpus: number | undefined;
  done: boolean;
  powerOff: GuestPowerOff | undefined;
  powerOffFailed: boolean;
  errors: string[];
  /** Marker lines of the echo, triple-fault and exits guests, in order (e.g. "ECHO-READY", "EXITS-BEGIN n=100000"). */
  markers: string[];
  other: string[];
}

const MARKERS = /^(ECHO-READY|ECHO-BYE|TRIPLE-FAULT-NOW|EXITS-BEGIN n=\d+|EXITS-END)$/;
const START_INFO = /^START_INFO magic=(0x[0-9a-f]+) version=(\d+) flags=(0x[0-9a-f]+) nr_modules=(\d+)$/;
const MEMORY = /^(MEM|E820) addr=(0x[0-9a-f]+) size=(0x[0-9a-f]+) type=(\d+)$/;
const RSDP = /^RSDP addr=(0x[0-9a-f]+) source=(\S+) revision=(\d+)$/;
const ACPI = /^ACPI (.{4}) len=(\d+) checksum=(ok|bad)$/;
const MADT = /^MADT CPUS (\d+)$/;
const POWEROFF = /^POWEROFF S5 slp_typ=(\d+) reg=(\S+)$/;

const CMDLINE_START = 'CMDLINE ';
const CMDLINE_END = '\nCMDLINE-END\n';

/** Split a guest's output into lines: "\n" ends a line, a "\r" before it is dropped. */
function lines(text: string): string[] {
  const out = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

export function parseGuestOutput(raw: string): GuestOutput {
  const out: GuestOutput = {
    startInfo: undefined,
    memory: [],
    e820: [],
    cmdline: undefined,
    rsdp: undefined,
    acpi: [],
    madtCpus: undefined,
    done: false,
    powerOff: undefined,
    powerOffFailed: false,
    errors: [],
    markers: [],
    other: [],
  };
  let text = raw.replace(/\r\n/g, '\n');
  if (!text.endsWith('\n')) text += '\n';
  // The command line may hold any byte, newlines included: cut it out before splitting lines.
  const start = text.startsWith(CMDLINE_START) ? 0 : text.indexOf(`\n${CMDLINE_START}`) + 1;
  const end = start > 0 || text.startsWith(CMDLINE_START) ? text.indexOf(CMDLINE_END, start) : -1;
  if (end >= 0) {
    out.cmdline = text.slice(start + CMDLINE_START.length, end);
    text = text.slice(0, start) + text.slice(end + CMDLINE_END.length);
  }
  for (const line of lines(text)) {
    let m: RegExpExecArray | null;
    if ((m = START_INFO.exec(line))) {
      out.startInfo = {
        magic: Number(m[1]),
        version: Number(m[2]),
        flags: Number(m[3]),
        nrModules: Number(m[4]),
      };
    } else if ((m = MEMORY.exec(line))) {
      const entry = { addr: BigInt(m[2] as string), size: BigInt(m[3] as string), type: Number(m[4]) };
      (m[1] === 'MEM' ? out.memory : out.e820).push(entry);
    } else if ((m = RSDP.exec(line))) {
      out.rsdp = { addr: BigInt(m[1] as string), source: m[2] as string, revision: Number(m[3]) };
    } else if ((m = ACPI.exec(line))) {
      out.acpi.push({ signature: m[1] as string, length: Number(m[2]), checksumOk: m[3] === 'ok' });
    } else if ((m = MADT.exec(line))) {
      out.madtCpus = Number(m[1]);
    } else if (line === 'DONE') {
      out.done = true;
    } else if ((m = POWEROFF.exec(line))) {
      out.powerOff = { slpTyp: Number(m[1]), register: m[2] as string };
    } else if (line === 'POWEROFF-FAILED') {
      out.powerOffFailed = true;
    } else if (line.startsWith('ERROR ')) {
      out.errors.push(line.slice('ERROR '.length));
    } else if (MARKERS.test(line)) {
      out.markers.push(line);
    } else {
      out.other.push(line);
    }
  }
  return out;
}

/** E820 type 1: usable RAM (ACPI 6.5 §15, Table 15.1 "Address Range Types"). */
export const E820_RAM = 1;
const ONE_MIB = 0x10_0000n;

/**
 * The RAM size a memory map describes: the usable (type 1) bytes above 1 MiB plus the whole first
 * MiB, which firmware and monitors split into RAM, the EBDA, the VGA hole and BIOS areas.
 */
export function ramSizeOf(entries: readonly GuestMemoryEntry[]): bigint {
  let total = ONE_MIB;
  for (const e of entries) {
    if (e.type !== E820_RAM) continue;
    const start = e.addr > ONE_MIB ? e.addr : ONE_MIB;
    const end = e.addr + e.size;
    if (end > start) total += end - start;
  }
  return total;
}
