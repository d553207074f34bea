// virtio-blk layouts: virtio 1.2 §5.2 (feature bits §5.2.3, configuration layout §5.2.4,
// requests §5.2.6). This module is the only place these numbers are written down.

/** Feature bits (§5.2.3). */
export const VIRTIO_BLK_F_SIZE_MAX = 1n;
export const VIRTIO_BLK_F_SEG_MAX = 2n;
export const VIRTIO_BLK_F_RO = 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 6n;
export const VIRTIO_BLK_F_FLUSH = 9n;
export const VIRTIO_BLK_F_DISCARD = 13n;
export const VIRTIO_BLK_F_WRITE_ZEROES = 14n;

/** struct virtio_blk_config (§5.2.4), up to write_zeroes_may_unmap and its padding. */
export const CONFIG_CAPACITY = 0; // le64, in 512-byte sectors
export const CONFIG_SIZE_MAX = 8; // le32
export const CONFIG_SEG_MAX = 12; // le32
export const CONFIG_GEOMETRY = 16; // le16 cylinders, u8 heads, u8 sectors
export const CONFIG_BLK_SIZE = 20; // le32
export const CONFIG_TOPOLOGY = 24; // u8, u8, le16, le32
export const CONFIG_WRITEBACK = 32; // u8
export const CONFIG_NUM_QUEUES = 34; // le16
export const CONFIG_MAX_DISCARD_SECTORS = 36; // le32
export const CONFIG_MAX_DISCARD_SEG = 40; // le32
export const CONFIG_DISCARD_SECTOR_ALIGNMENT = 44; // le32
export const CONFIG_MAX_WRITE_ZEROES_SECTORS = 48; // le32
export const CONFIG_MAX_WRITE_ZEROES_SEG = 52; // le32
export const CONFIG_WRITE_ZEROES_MAY_UNMAP = 56; // u8, then u8 unused1[3]
export const CONFIG_SIZE = 60;

/** struct virtio_blk_req header (§5.2.6): le32 type; le32 reserved; le64 sector. */
export const REQ_HEADER_SIZE = 16;
export const REQ_TYPE = 0;
export const REQ_SECTOR = 8;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

/** The sector size of the request protocol, whatever blk_size says (§5.2.6). */
export const SECTOR_SIZE = 512;
/** GET_ID answers with this many bytes, NUL-padded (§5.2.6: VIRTIO_BLK_ID_BYTES). */
export const VIRTIO_BLK_ID_BYTES = 20;

/** struct virtio_blk_discard_write_zeroes (§5.2.6): le64 sector; le32 num_sectors; le32 flags. */
export const DWZ_SEGMENT_SIZE = 16;
export const DWZ_SECTOR = 0;
export const DWZ_NUM_SECTORS = 8;
export const DWZ_FLAGS = 12;
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;
