// virtio-vsock layouts: virtio 1.2 §5.10 (socket device). Stream sockets only; the packet header
// is read and written only through packet.ts.

/** Queue indices (§5.10.2): rx carries packets device → driver, tx driver → device. */
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;
export const EVENT_QUEUE = 2;

/** Feature bits (§5.10.3). Without any, a device acts as if STREAM were negotiated (§5.10.3.1). */
export const VIRTIO_VSOCK_F_STREAM = 0n;
export const VIRTIO_VSOCK_F_SEQPACKET = 1n;

/** struct virtio_vsock_config (§5.10.4): le64 guest_cid. */
export const CONFIG_GUEST_CID = 0;
export const CONFIG_SIZE = 8;

/** Well-known CIDs (§5.10.4, <linux/vm_sockets.h>): the host is 2; 0..2 and 0xffffffff are reserved. */
export const VMADDR_CID_HOST = 2;
export const MIN_GUEST_CID = 3;
export const MAX_GUEST_CID = 0xffff_fffe;
/** VMADDR_PORT_ANY: not a port one can connect to or listen on. */
export const VMADDR_PORT_ANY = 0xffff_ffff;

// struct virtio_vsock_hdr (§5.10.6), 44 bytes, every field little-endian.
export const HDR_SRC_CID = 0; // le64
export const HDR_DST_CID = 8; // le64
export const HDR_SRC_PORT = 16; // le32
export const HDR_DST_PORT = 20; // le32
export const HDR_LEN = 24; // le32: payload bytes after the header
export const HDR_TYPE = 28; // le16
export const HDR_OP = 30; // le16
export const HDR_FLAGS = 32; // le32
export const HDR_BUF_ALLOC = 36; // le32
export const HDR_FWD_CNT = 40; // le32
export const HDR_SIZE = 44;

/** Socket types (§5.10.6): only streams here. */
export const VIRTIO_VSOCK_TYPE_STREAM = 1;
export const VIRTIO_VSOCK_TYPE_SEQPACKET = 2;

/** Operations (§5.10.6). */
export const VIRTIO_VSOCK_OP_INVALID = 0;
export const VIRTIO_VSOCK_OP_REQUEST = 1;
export const VIRTIO_VSOCK_OP_RESPONSE = 2;
export const VIRTIO_VSOCK_OP_RST = 3;
export const VIRTIO_VSOCK_OP_SHUTDOWN = 4;
export const VIRTIO_VSOCK_OP_RW = 5;
export const VIRTIO_VSOCK_OP_CREDIT_UPDATE = 6;
export const VIRTIO_VSOCK_OP_CREDIT_REQUEST = 7;

/** SHUTDOWN flags (§5.10.6.5.1 stream shutdown): the sender will receive / send no more. */
export const VIRTIO_VSOCK_SHUTDOWN_RCV = 1;
export const VIRTIO_VSOCK_SHUTDOWN_SEND = 2;

/** struct virtio_vsock_event (§5.10.6.7): le32 id. */
export const EVENT_ID = 0;
export const EVENT_SIZE = 4;
export const VIRTIO_VSOCK_EVENT_TRANSPORT_RESET = 0;

/**
 * Largest payload one packet carries: Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE (64 KiB), which it
 * never exceeds on tx and which vhost and Firecracker enforce too.
 */
export const MAX_PKT_PAYLOAD = 64 * 1024;
