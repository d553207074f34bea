// DirectIo over one virtio descriptor chain (virtio 1.2 §2.7.4.2): READ data goes by preadv(2)
// straight into the chain's device-writable buffers after fuse_out_header, WRITE data by
// pwritev(2) straight from its device-readable buffers after fuse_in_header and fuse_write_in.
// Each segment was checked against guest RAM by the queue walker when the chain was popped; it is
// checked again against its region here, before its address goes to the kernel. At most IOV_MAX
// segments: a longer chain is served through the server's buffers (copied) instead.
import { fsAt, fsConst as C, fsErrno, fsLayout, type FsAt } from '@vmm/hypervisor';
import type { RegionViews } from '../memory/region-views';
import type { DescriptorChain } from '../queue/chain';
import { NOT_DIRECT, type DirectIo } from './direct-io';
import { EINVAL } from './errno';
import { OUT_HEADER } from './layout';

const V = fsLayout.IOVEC;
const TWO_32 = 2 ** 32;

export class ChainIo implements DirectIo {
  writeData = false;
  /** Requests whose data went straight between the file and guest memory. */
  reads = 0;
  writes = 0;
  private chain: DescriptorChain | undefined;
  private readonly fs: FsAt = fsAt();
  private readonly iov = new Uint8Array(C.IOV_MAX * V.size);
  private readonly iovView = new DataView(this.iov.buffer);
  /** Host address and size of each guest RAM region, for the views they were taken from. */
  private basesOf: RegionViews | undefined;
  private bases = new Float64Array(0);
  private sizes = new Float64Array(0);

  /** Serve `chain` (popped from a queue over `views`); `writeData`: WRITE data stays in the chain. */
  bind(chain: DescriptorChain, views: RegionViews, writeData: boolean): void {
    if (views !== this.basesOf) {
      // Guest RAM is mapped once per boot (never moves): one address per region, taken once.
      this.basesOf = views;
      this.bases = new Float64Array(views.count);
      this.sizes = new Float64Array(views.count);
      for (let i = 0; i < views.count; i++) {
        const bytes = views.bytesOf(i);
        this.bases[i] = Number(this.fs.addressOf(bytes));
        this.sizes[i] = bytes.length;
      }
    }
    this.chain = chain;
    this.writeData = writeData;
  }

  unbind(): void {
    this.chain = undefined;
    this.writeData = false;
  }

  read(fd: number, size: number, offset: number): number {
    const c = this.chain;
    if (!c) return NOT_DIRECT;
    const n = this.fill(c, c.firstWritable, c.length, OUT_HEADER.size, size);
    if (n < 0) return NOT_DIRECT;
    const r = this.fs.preadv(fd, this.iov, n, offset);
    if (r < 0) return -fsErrno();
    this.reads++;
    return r;
  }

  write(fd: number, at: number, size: number, offset: number): number {
    const c = this.chain;
    if (!c || !this.writeData) return -EINVAL;
    const n = this.fill(c, 0, c.firstWritable, at, size);
    if (n < 0) return -EINVAL;
    const r = this.fs.pwritev(fd, this.iov, n, offset);
    if (r < 0) return -fsErrno();
    this.writes++;
    return r;
  }

  /**
   * iovecs for bytes [skip, skip + want) of segments [from, to): how many, or -1 when the segments
   * hold fewer bytes, one lies outside its region, or it would take more than IOV_MAX.
   */
  private fill(c: DescriptorChain, from: number, to: number, skip: number, want: number): number {
    const dv = this.iovView;
    let n = 0;
    let done = 0;
    for (let i = from; i < to && done < want; i++) {
      const len = c.len[i]!;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      const region = c.region[i]!;
      const start = c.offset[i]! + skip;
      const k = Math.min(len - skip, want - done);
      skip = 0;
      if (region < 0 || region >= this.bases.length || start < 0 || start + k > this.sizes[region]!)
        return -1;
      if (n === C.IOV_MAX) return -1;
      const addr = this.bases[region]! + start;
      const at = n * V.size;
      dv.setUint32(at + V.fields.iov_base, addr % TWO_32, true);
      dv.setUint32(at + V.fields.iov_base + 4, Math.floor(addr / TWO_32), true);
      dv.setUint32(at + V.fields.iov_len, k, true);
      dv.setUint32(at + V.fields.iov_len + 4, 0, true);
      n++;
      done += k;
    }
    return done === want ? n : -1;
  }
}
