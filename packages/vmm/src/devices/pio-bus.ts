// Port I/O bus: a device per port, found in O(1) through a 64 Ki table, so dispatching an exit
// allocates nothing. A port with no device reads as all ones and ignores writes, as on a PC.

export interface PioDevice {
  pioRead(port: number, data: Uint8Array): void;
  pioWrite(port: number, data: Uint8Array): void;
}

export class PioBus {
  private readonly table = new Uint8Array(0x10000); // 0 = none, else index + 1 into devices
  private readonly devices: PioDevice[] = [];

  /** Attach `device` to ports [base, base+len). Overlaps are a programming error. */
  add(base: number, len: number, device: PioDevice): void {
    if (base < 0 || len <= 0 || base + len > 0x10000)
      throw new RangeError(`bad port range 0x${base.toString(16)}+${len}`);
    if (this.devices.length >= 255) throw new RangeError('too many port devices');
    for (let p = base; p < base + len; p++) {
      if (this.table[p] !== 0) throw new RangeError(`port 0x${p.toString(16)} is already taken`);
    }
    this.devices.push(device);
    this.table.fill(this.devices.length, base, base + len);
  }

  read(port: number, data: Uint8Array): void {
    const i = this.table[port & 0xffff]!;
    if (i === 0) data.fill(0xff);
    else this.devices[i - 1]!.pioRead(port, data);
  }

  write(port: number, data: Uint8Array): void {
    const i = this.table[port & 0xffff]!;
    if (i !== 0) this.devices[i - 1]!.pioWrite(port, data);
  }
}

/** Port 0x80, the POST diagnostic port: accepted and dropped (Linux uses it for I/O delays). */
export const POST_PORT = 0x80;
export const postPort: PioDevice = {
  pioRead: (_port, data) => data.fill(0),
  pioWrite: () => {},
};
