// virtio-mmio register file, version 2: virtio 1.2 §4.2.2 (Table "MMIO Device Register Layout").
export const MMIO_MAGIC_VALUE = 0x000;
export const MMIO_VERSION = 0x004;
export const MMIO_DEVICE_ID = 0x008;
export const MMIO_VENDOR_ID = 0x00c;
export const MMIO_DEVICE_FEATURES = 0x010;
export const MMIO_DEVICE_FEATURES_SEL = 0x014;
export const MMIO_DRIVER_FEATURES = 0x020;
export const MMIO_DRIVER_FEATURES_SEL = 0x024;
export const MMIO_QUEUE_SEL = 0x030;
export const MMIO_QUEUE_NUM_MAX = 0x034;
export const MMIO_QUEUE_NUM = 0x038;
export const MMIO_QUEUE_READY = 0x044;
export const MMIO_QUEUE_NOTIFY = 0x050;
export const MMIO_INTERRUPT_STATUS = 0x060;
export const MMIO_INTERRUPT_ACK = 0x064;
export const MMIO_STATUS = 0x070;
export const MMIO_QUEUE_DESC_LOW = 0x080;
export const MMIO_QUEUE_DESC_HIGH = 0x084;
export const MMIO_QUEUE_DRIVER_LOW = 0x090;
export const MMIO_QUEUE_DRIVER_HIGH = 0x094;
export const MMIO_QUEUE_DEVICE_LOW = 0x0a0;
export const MMIO_QUEUE_DEVICE_HIGH = 0x0a4;
export const MMIO_SHM_SEL = 0x0ac;
export const MMIO_SHM_LEN_LOW = 0x0b0;
export const MMIO_SHM_LEN_HIGH = 0x0b4;
export const MMIO_SHM_BASE_LOW = 0x0b8;
export const MMIO_SHM_BASE_HIGH = 0x0bc;
export const MMIO_QUEUE_RESET = 0x0c0;
export const MMIO_CONFIG_GENERATION = 0x0fc;
export const MMIO_CONFIG = 0x100;

/** "virt" in little-endian. */
export const MMIO_MAGIC = 0x74726976;
export const MMIO_VERSION_MODERN = 2;
/** The size of one device's register window (Linux's virtio_mmio.device=512@...). */
export const MMIO_SLOT_SIZE = 0x200;
/** Our vendor ID: "VMM\0"-ish, any value is allowed; QEMU uses "QEMU" (0x554d4551). */
export const MMIO_VENDOR = 0x00564d4d;

/** The six 32-bit halves of a queue's three ring addresses (descriptor, driver, device), in this order. */
export const QUEUE_ADDRESS_REGS: readonly number[] = [
  MMIO_QUEUE_DESC_LOW,
  MMIO_QUEUE_DESC_HIGH,
  MMIO_QUEUE_DRIVER_LOW,
  MMIO_QUEUE_DRIVER_HIGH,
  MMIO_QUEUE_DEVICE_LOW,
  MMIO_QUEUE_DEVICE_HIGH,
];
