// The vCPU run loop: KVM_RUN (or a peer's run), dispatch the exit, repeat. Runs in a worker thread
// per vCPU so the main event loop stays free. Nothing the guest does throws out of this loop:
// every way out is a StopReason.
import type { Vcpu, VmExit } from '@vmm/hypervisor';
import type { PioBus } from '../devices/pio-bus';
import type { StopReason } from './protocol';

/** Where MMIO exits go: the main thread's devices (MailboxClient), or nowhere. */
export interface MmioForwarder {
  call(write: boolean, address: number, data: Uint8Array, len: number): boolean;
}

/** MMIO registers a vCPU thread answers itself (virtio InterruptStatus/ACK); false: not mine. */
export interface MmioFastPath {
  access(write: boolean, address: number, data: Uint8Array, len: number): boolean;
}

export interface ExitBuses {
  pio: PioBus;
  mmio: MmioForwarder | null;
  mmioFast?: MmioFastPath | null;
}

/**
 * `L`: what else may end the loop without the vCPU stopping (the main thread's early run hands
 * the vCPU on with 'handoff').
 */
export interface ExitLoopHooks<L extends string = never> {
  /** Checked after every exit (`last`); a non-undefined value ends the loop with that reason. */
  pending(last: VmExit): StopReason | NoInfer<L> | undefined;
  /** A device threw while handling an exit (a bug, never the guest's doing): told, and the loop goes on. */
  deviceError?(e: unknown): void;
}

export function runExitLoop<L extends string = never>(
  vcpu: Vcpu,
  buses: ExitBuses,
  hooks: ExitLoopHooks<L>,
): StopReason | L {
  for (;;) {
    let exit: VmExit;
    try {
      exit = vcpu.run();
    } catch (e) {
      return { reason: 'error', detail: (e as Error).message };
    }
    let stop: StopReason | L | undefined;
    try {
      stop = handleExit(exit, buses) ?? hooks.pending(exit);
    } catch (e) {
      // The access is dropped (a read sees whatever the device left), the vCPU runs on.
      hooks.deviceError?.(e);
      stop = hooks.pending(exit);
    }
    if (typeof stop === 'object' && stop.reason === 'triple-fault')
      return { reason: 'triple-fault', at: cpuState(vcpu) };
    if (stop) return stop;
  }
}

/** Where the CPU was when it stopped: what a user needs to find the faulting code. */
export function cpuState(vcpu: Vcpu): string | undefined {
  try {
    const r = vcpu.getRegs();
    const s = vcpu.getSregs();
    // AMD's KVM reinitialises the vCPU on a shutdown intercept: what is left is the reset vector.
    if (r.rip === 0xfff0n && s.cs.selector === 0xf000) return undefined;
    const hex = (v: bigint | number) => `0x${v.toString(16)}`;
    return (
      `rip=${hex(r.rip)} rsp=${hex(r.rsp)} rflags=${hex(r.rflags)} cs=${hex(s.cs.selector)} ` +
      `cr0=${hex(s.cr0)} cr3=${hex(s.cr3)} cr4=${hex(s.cr4)} efer=${hex(s.efer)} ` +
      `idt=${hex(s.idt.base)}/${hex(s.idt.limit)}`
    );
  } catch {
    return undefined;
  }
}

/** One exit; returns a StopReason when the vCPU must stop. */
export function handleExit(exit: VmExit, { pio, mmio, mmioFast }: ExitBuses): StopReason | undefined {
  switch (exit.kind) {
    case 'io': {
      const { size, count, data, port } = exit;
      if (count === 1) {
        if (exit.direction === 'out') pio.write(port, data);
        else pio.read(port, data);
      } else {
        // String I/O (rep ins/outs): one access per element.
        for (let i = 0; i < count; i++) {
          const elem = data.subarray(i * size, (i + 1) * size);
          if (exit.direction === 'out') pio.write(port, elem);
          else pio.read(port, elem);
        }
      }
      return undefined;
    }
    case 'mmio': {
      const write = exit.direction === 'write';
      if (mmioFast?.access(write, exit.address, exit.data, exit.len)) return undefined;
      // Without an answer (no devices, or shutting down) reads see all ones and writes are dropped.
      if (!mmio?.call(write, exit.address, exit.data, exit.len) && !write) exit.data.fill(0xff, 0, exit.len);
      return undefined;
    }
    case 'interrupted':
      return undefined;
    case 'hlt':
      return { reason: 'hlt' };
    case 'shutdown':
      return { reason: 'triple-fault' };
    case 'system-event':
      if (exit.type === 'shutdown') return { reason: 'poweroff' };
      if (exit.type === 'reset') return { reason: 'reset' };
      return { reason: 'crash', detail: `system event ${exit.type} (${exit.raw})` };
    case 'internal-error':
      return {
        reason: 'internal-error',
        suberror: exit.suberror,
        data: exit.data.map((d) => `0x${d.toString(16)}`),
        instruction: instructionBytes(exit.data),
      };
    case 'fail-entry':
      return { reason: 'fail-entry', hardwareReason: `0x${exit.reason.toString(16)}` };
    case 'unknown':
      return { reason: 'error', detail: `unknown exit reason ${exit.reason}` };
  }
}

/**
 * The instruction bytes KVM reports with an emulation failure (suberror 1). With
 * KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES set in data[0], the bytes after it are
 * `__u8 insn_size; __u8 insn_bytes[15]` (struct emulation_failure in linux/kvm.h). Without the
 * flag, every word is printed as bytes.
 */
export function instructionBytes(data: readonly bigint[]): string {
  const flat: number[] = [];
  const hasInsn = data.length >= 2 && (data[0]! & 1n) === 1n;
  for (const w of hasInsn ? data.slice(1) : data) {
    for (let i = 0n; i < 8n; i++) flat.push(Number((w >> (8n * i)) & 0xffn));
  }
  const bytes = hasInsn ? flat.slice(1, 1 + Math.min(flat[0] ?? 0, 15)) : flat;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
