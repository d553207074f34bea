// The Differentiated System Description Table (ACPI 6.5 §5.2.11.1): the AML namespace of the
// machine. Under \_SB_: COM1, the CMOS RTC when the machine has one, one device per virtio-mmio
// transport, the power button and the Generic Event Device that presses it; at the root: \_S5_,
// the sleep type the guest writes to power off.
// The shape follows QEMU's microvm (hw/i386/acpi-microvm.c) and Firecracker's DSDT.
import { COM1_IRQ, COM1_PORT } from '../../../devices/uart/uart16550';
import { VIRTIO_MMIO_SLOT_SIZE } from '../layout';
import {
  and,
  device,
  fieldByteAcc,
  ifThen,
  method,
  notify,
  opRegion,
  ref,
  eisaId,
  extendedInterrupt,
  integer,
  io,
  irqNoFlags,
  memory32Fixed,
  name,
  pkg,
  resourceTemplate,
  scope,
  string,
} from './aml';
import { AcpiTableError } from './errors';
import { IOAPIC_GSI_BASE, IOAPIC_PINS } from './madt';
import { GED_EVENT_PORT, GED_EVENT_POWER_BUTTON, GED_GSI, S5_SLP_TYP } from './registers';
import { sdtWithBody } from './sdt';

/** DSDT revision 2: integers are 64-bit (ACPI 6.5 §5.2.11.1). */
export const DSDT_REVISION = 2;

/**
 * The _HID Linux's virtio-mmio driver matches (drivers/virtio/virtio_mmio.c, virtio_mmio_acpi_match;
 * "LNRO0005" is Linaro's ID for a virtio-mmio transport).
 */
export const VIRTIO_MMIO_HID = 'LNRO0005';

/** The CMOS RTC's ports and ISA IRQ (PC/AT; PNP0B00). */
const CMOS_RTC_PORT = 0x70;
const CMOS_RTC_PORTS = 2;
const CMOS_RTC_IRQ = 8;

/** The most virtio-mmio devices the DSDT names ("VR00".."VR99"). */
export const DSDT_MAX_VIRTIO_DEVICES = 100;

/** One virtio-mmio transport as the guest should see it. */
export interface VirtioMmioAcpiDevice {
  /** Guest-physical address of its register window. */
  base: number;
  /** Bytes of the window; default VIRTIO_MMIO_SLOT_SIZE (0x200). */
  size?: number;
  /** The IOAPIC input (GSI) it interrupts on, 0..IOAPIC_PINS-1. */
  gsi: number;
  /**
   * Default 'edge': our devices raise their interrupt through an irqfd, a pulse with no line
   * level to hold (as Firecracker, whose DSDT says Edge). QEMU's microvm says Level because its
   * virtio-mmio holds the line while the interrupt status register is non-zero.
   */
  trigger?: 'edge' | 'level';
}

export interface DsdtOptions {
  /** virtio-mmio transports, in order; device i is \_SB_.VRii with _UID i. */
  devices: readonly VirtioMmioAcpiDevice[];
  /** Describe COM1 (0x3F8, IRQ 4). Default true. */
  serial?: boolean;
  /** Describe a CMOS RTC (0x70, IRQ 8). Default false. Keep in step with the FADT's flag. */
  cmosRtc?: boolean;
}

function com1(): Uint8Array {
  return device(
    'COM1',
    name('_HID', eisaId('PNP0501')), // 16550A-compatible COM port
    name('_UID', integer(0)),
    name('_CRS', resourceTemplate(io(COM1_PORT, COM1_PORT, 0, 8), irqNoFlags(COM1_IRQ))),
  );
}

function cmosRtc(): Uint8Array {
  return device(
    'RTC',
    name('_HID', eisaId('PNP0B00')), // AT real-time clock
    name(
      '_CRS',
      resourceTemplate(io(CMOS_RTC_PORT, CMOS_RTC_PORT, 1, CMOS_RTC_PORTS), irqNoFlags(CMOS_RTC_IRQ)),
    ),
  );
}

/**
 * The power button as a control-method device (PNP0C0C, ACPI 6.5 §4.8.2.2.1.2: a hardware-reduced
 * platform has no fixed power button) and the Generic Event Device (ACPI0013, §5.6.9) whose
 * interrupt runs _EVT: it reads the event register and sends the button Notify(0x80) ("pressed",
 * §5.6.6), which Linux's button driver turns into KEY_POWER. Cloud Hypervisor does the same.
 */
function powerButton(): Uint8Array[] {
  return [
    device('PWRB', name('_HID', eisaId('PNP0C0C')), name('_UID', integer(0))),
    device(
      'GED0',
      name('_HID', string('ACPI0013')),
      name('_UID', integer(0)),
      name('_CRS', resourceTemplate(extendedInterrupt({ trigger: 'edge', polarity: 'high' }, GED_GSI))),
      opRegion('GDST', 'SystemIO', GED_EVENT_PORT, 1),
      fieldByteAcc('GDST', ['GDAT', 8]),
      method(
        '_EVT',
        1,
        true,
        ifThen(and(ref('GDAT'), integer(GED_EVENT_POWER_BUTTON)), notify('\\_SB_.PWRB', 0x80)),
      ),
    ),
  ];
}

function virtioMmio(index: number, dev: VirtioMmioAcpiDevice): Uint8Array {
  const size = dev.size ?? VIRTIO_MMIO_SLOT_SIZE;
  if (
    !Number.isSafeInteger(dev.base) ||
    dev.base < 0 ||
    !Number.isSafeInteger(size) ||
    size <= 0 ||
    dev.base + size > 2 ** 32
  ) {
    throw new AcpiTableError(
      `virtio-mmio device ${index} at 0x${dev.base.toString(16)}+0x${size.toString(16)} must lie below 4 GiB ` +
        '(the DSDT describes it with a 32-bit memory range)',
    );
  }
  if (!Number.isInteger(dev.gsi) || dev.gsi < IOAPIC_GSI_BASE || dev.gsi >= IOAPIC_GSI_BASE + IOAPIC_PINS) {
    throw new AcpiTableError(
      `virtio-mmio device ${index} uses interrupt ${dev.gsi}, but the IOAPIC has inputs ` +
        `${IOAPIC_GSI_BASE}..${IOAPIC_GSI_BASE + IOAPIC_PINS - 1}`,
    );
  }
  return device(
    `VR${String(index).padStart(2, '0')}`,
    name('_HID', string(VIRTIO_MMIO_HID)),
    name('_UID', integer(index)),
    name('_CCA', integer(1)), // DMA is cache-coherent (ACPI 6.5 §6.2.17)
    name(
      '_CRS',
      resourceTemplate(
        memory32Fixed(dev.base, size),
        extendedInterrupt({ trigger: dev.trigger ?? 'edge', polarity: 'high' }, dev.gsi),
      ),
    ),
  );
}

/** The AML of the definition block (the DSDT without its header). */
export function dsdtAml(options: DsdtOptions): Uint8Array {
  if (options.devices.length > DSDT_MAX_VIRTIO_DEVICES) {
    throw new AcpiTableError(
      `${options.devices.length} virtio-mmio devices is too many for the DSDT: at most ${DSDT_MAX_VIRTIO_DEVICES}`,
    );
  }
  const sb: Uint8Array[] = [];
  if (options.serial ?? true) sb.push(com1());
  if (options.cmosRtc) sb.push(cmosRtc());
  options.devices.forEach((dev, i) => sb.push(virtioMmio(i, dev)));
  sb.push(...powerButton());
  // \_S5_ (ACPI 6.5 §7.4.2, \_Sx System States): SLP_TYPa, SLP_TYPb, two reserved. On a hardware-reduced
  // platform only SLP_TYPa is used: the guest writes it to the Sleep Control register.
  const s5 = name('\\_S5_', pkg(integer(S5_SLP_TYP), integer(0), integer(0), integer(0)));
  const parts = [scope('\\_SB_', ...sb), s5];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function buildDsdt(options: DsdtOptions): Uint8Array {
  return sdtWithBody('DSDT', DSDT_REVISION, dsdtAml(options));
}
