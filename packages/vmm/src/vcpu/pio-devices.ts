// The devices that answer a vCPU's port I/O in the thread that runs it: COM1 over its shared
// state, the ACPI PM registers, port 0x80. The vCPU's own thread builds them, and so does the main
// thread for the exits it runs before that thread is ready (early-run.ts).
import fs from 'node:fs';
import { ACPI_PM_PORT_BASE, ACPI_PM_PORT_COUNT } from '../arch/x86_64/acpi/registers';
import { AcpiPmDevice } from '../devices/acpi-pm';
import { PioBus, POST_PORT, postPort } from '../devices/pio-bus';
import { COM1_PORT, Uart16550 } from '../devices/uart/uart16550';
import type { StopReason, VcpuWorkerInit } from './protocol';

export interface VcpuPioHooks {
  notice(kind: string, line: string): void;
  /** The VM stops: a full serial sink is given up. */
  stopping(): boolean;
  /** The vCPU is to leave its loop for a while: a byte a full serial sink did not take is held back. */
  pausing(): boolean;
  /** The guest asked for a power event (ACPI PM: S5, reset). */
  event(e: StopReason & { reason: 'poweroff' | 'reset' }): void;
}

export interface VcpuPioDevices {
  pio: PioBus;
  uart: Uart16550;
}

export function vcpuPioDevices(
  init: Pick<VcpuWorkerInit, 'uart' | 'gedEvents'>,
  hooks: VcpuPioHooks,
): VcpuPioDevices {
  const irqWord = Buffer.alloc(8);
  irqWord.writeBigUInt64LE(1n);
  const pio = new PioBus();
  const uart = new Uart16550(
    init.uart.state,
    init.uart.outFd === null
      ? null
      : {
          fd: init.uart.outFd,
          limit: init.uart.outLimit,
          notice: hooks.notice,
          stopping: hooks.stopping,
          pausing: hooks.pausing,
        },
    { trigger: () => void fs.writeSync(init.uart.irqFd, irqWord) },
  );
  pio.add(COM1_PORT, 8, uart);
  pio.add(
    ACPI_PM_PORT_BASE,
    ACPI_PM_PORT_COUNT,
    new AcpiPmDevice((e) => hooks.event({ reason: e }), new Int32Array(init.gedEvents, 0, 1)),
  );
  pio.add(POST_PORT, 1, postPort);
  return { pio, uart };
}
