// Device status field bits: virtio 1.2 §2.1.
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** Device IDs: virtio 1.2 §5. */
export const DEVICE_ID_BLOCK = 2;
export const DEVICE_ID_CONSOLE = 3;
export const DEVICE_ID_ENTROPY = 4;
export const DEVICE_ID_SOCKET = 19;

/** InterruptStatus bits: virtio 1.2 §4.2.2. */
export const INTERRUPT_USED_BUFFER = 1;
export const INTERRUPT_CONFIG_CHANGE = 2;
