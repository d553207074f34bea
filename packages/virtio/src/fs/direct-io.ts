// READ and WRITE data moved between the host file and the transport's own buffers, past the
// server's request and reply buffers: a virtio-fs device hands the server its guest's descriptors
// (chain-io.ts), so the data is read into and written from guest memory by preadv/pwritev, with no
// copy in between. /dev/fuse has no such buffers: its requests and replies go through ours.

/** DirectIo.read's answer when it cannot place the data (too many buffers): use the reply buffer. */
export const NOT_DIRECT = -0x1_0000;

/** What a transport offers the server for one request. */
export interface DirectIo {
  /**
   * WRITE's data is not in the request buffer (the request was given without it): its `size` bytes
   * start `at` bytes into the request, in the transport's buffers.
   */
  readonly writeData: boolean;
  /**
   * READ: up to `size` bytes of `fd` at `offset` straight into the transport's reply buffers, after
   * the reply's header: bytes read, -errno, or NOT_DIRECT.
   */
  read(fd: number, size: number, offset: number): number;
  /** WRITE (writeData): `size` bytes from byte `at` of the request to `fd` at `offset`: bytes written, or -errno. */
  write(fd: number, at: number, size: number, offset: number): number;
}
