// virtio-console layouts: virtio 1.2 §5.3 (virtqueues §5.3.2, configuration layout §5.3.4).

/** Port 0's queues (§5.3.2): receiveq (device -> driver) and transmitq (driver -> device). */
export const CONSOLE_RECEIVEQ = 0;
export const CONSOLE_TRANSMITQ = 1;

/** struct virtio_console_config (§5.3.4): le16 cols; le16 rows; le32 max_nr_ports; le32 emerg_wr. */
export const CONFIG_COLS = 0;
export const CONFIG_ROWS = 2;
export const CONFIG_MAX_NR_PORTS = 4;
export const CONFIG_EMERG_WR = 8;
export const CONFIG_SIZE = 12;
