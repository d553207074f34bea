// The library reads each device's counters (no silent failure: what a test can read, a user can
// too): a VM with a disk, a NAT interface and an rng on the scripted vCPU backend (stands in for
// KVM: runs on hosts without it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ProbeResult } from '@vmm/hypervisor';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { S5_SLP_TYP, SLEEP_CONTROL_PORT, SLP_EN, SLP_TYP_SHIFT } from '../../src/arch/x86_64/acpi/index';
import { Vmm } from '../../src/index';
import { ScriptedHypervisor } from '../support/scripted-hypervisor';

const hostProbe: ProbeResult = {
  backend: 'kvm',
  present: true,
  accessible: true,
  extensions: [],
  virtualization: 'hardware',
  problems: [],
  details: {},
};

describe('Vmm.counters() on the scripted vCPU backend (stands in for KVM)', () => {
  let kernel: string;
  beforeAll(async () => {
    kernel = (await buildGuests())['pvh-info']!;
  }, 300_000);

  it('names every device with its model counters, and the NAT’s behind its virtio-net', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-counters-'));
    const disk = path.join(dir, 'disk.img');
    fs.writeFileSync(disk, Buffer.alloc(1 << 20));
    const hv = new ScriptedHypervisor([
      [
        [
          { mmioRead: 0xd000_0000, len: 4 },
          { out: SLEEP_CONTROL_PORT, bytes: [(S5_SLP_TYP << SLP_TYP_SHIFT) | SLP_EN] },
        ],
      ],
    ]);
    const vmm = await Vmm.create(
      {
        kernel,
        cmdline: '',
        cpus: { boot: 1 },
        memory: { size: 128 << 20 },
        serial: { mode: 'off' },
        noReboot: true,
        hostQuirks: 'off',
        disks: [{ path: disk }],
        nets: [{}],
        rng: true,
      },
      { hypervisor: hv, probe: hostProbe },
    );
    await vmm.run();
    const c = vmm.counters();
    expect(c.devices.map((d) => [d.slot, d.kind])).toEqual([
      [0, 'virtio-blk'],
      [1, 'virtio-net'],
      [2, 'virtio-rng'],
    ]);
    expect(c.devices[0]!.stats).toMatchObject({ requests: 0, readBytes: 0, errors: 0, malformed: 0 });
    expect(c.devices[1]!.stats).toMatchObject({ txFrames: 0, rxDropped: 0 });
    expect(c.devices[1]!.nat).toMatchObject({ tcpConnections: 0, refusedByCap: 0, refusedByPolicy: 0 });
    expect(c.devices[2]!.stats).toEqual({ bytes: 0 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
