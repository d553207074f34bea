// The inode table: every host file the guest has looked up, held by an O_PATH file descriptor (so a
// node is the host inode itself, never a path re-resolved later), under the FUSE node id the guest
// uses, with the kernel's lookup count (fuse.h: FORGET drops it; at zero the fd is closed). One host
// inode has one node (found again by device and inode number), so hard links share a node id.
// Bounded: at `max` nodes, a new one is refused.
import type { InodeKey } from './attr';
import { FUSE_ROOT_ID } from './layout';

export class FsNode {
  constructor(
    readonly id: number,
    /** O_PATH|O_NOFOLLOW fd of the host inode. */
    readonly fd: number,
    /** Device and inode number: the key of `byKey` (the node's own copy). */
    readonly key: InodeKey,
    /** The file type bits of its mode (S_IFMT): an inode's type never changes. */
    readonly type: number,
  ) {}
  /** The kernel's lookup count (nlookup). */
  refs = 0;
  /** The next node whose key has the same hash (another device, or an inode number past 2^53). */
  sameHash: FsNode | undefined = undefined;
}

export class NodeTable {
  private readonly byId = new Map<number, FsNode>();
  /** Each key hash's first node; the others chained through `sameHash`. */
  private readonly byKey = new Map<number, FsNode>();
  private nextId = FUSE_ROOT_ID + 1;
  readonly root: FsNode;

  constructor(
    rootFd: number,
    rootKey: InodeKey,
    rootType: number,
    readonly max: number,
    private readonly close: (fd: number) => void,
  ) {
    this.root = new FsNode(FUSE_ROOT_ID, rootFd, rootKey.copy(), rootType);
    this.byId.set(FUSE_ROOT_ID, this.root);
    this.addKey(this.root);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: number): FsNode | undefined {
    return this.byId.get(id);
  }

  /** The node of the host inode `key`, if the guest holds it. */
  find(key: InodeKey): FsNode | undefined {
    let n = this.byKey.get(key.hash);
    while (n && !n.key.equals(key)) n = n.sameHash;
    return n;
  }

  private addKey(node: FsNode): void {
    const hash = node.key.hash;
    node.sameHash = this.byKey.get(hash);
    this.byKey.set(hash, node);
  }

  private dropKey(node: FsNode): void {
    const hash = node.key.hash;
    const first = this.byKey.get(hash);
    if (first === node) {
      if (node.sameHash) this.byKey.set(hash, node.sameHash);
      else this.byKey.delete(hash);
    } else {
      let n = first;
      while (n && n.sameHash !== node) n = n.sameHash;
      if (n) n.sameHash = node.sameHash;
    }
    node.sameHash = undefined;
  }

  /**
   * The node for the host inode `key` that `fd` was just opened on, its lookup count raised by one.
   * Takes `fd`: closed when the inode already has a node. Null (fd closed) when the table is full.
   * `key` is copied.
   */
  intern(fd: number, key: InodeKey, type: number): FsNode | null {
    const known = this.find(key);
    if (known) {
      if (known.fd !== fd) this.close(fd);
      known.refs++;
      return known;
    }
    if (this.byId.size >= this.max) {
      this.close(fd);
      return null;
    }
    const node = new FsNode(this.nextId++, fd, key.copy(), type);
    node.refs = 1;
    this.byId.set(node.id, node);
    this.addKey(node);
    return node;
  }

  /** The kernel forgot `n` lookups of node `id` (FORGET). Unknown ids and the root are ignored. */
  forget(id: number, n: number): void {
    const node = this.byId.get(id);
    if (!node || node === this.root) return;
    node.refs -= n;
    if (node.refs > 0) return;
    this.byId.delete(id);
    this.dropKey(node);
    this.close(node.fd);
  }

  /** Drops one lookup taken by mistake (a reply that could not be sent). */
  unref(node: FsNode): void {
    this.forget(node.id, 1);
  }

  /** Every node but the root, closed (DESTROY, or the server closing). */
  clear(): void {
    for (const node of this.byId.values()) if (node !== this.root) this.close(node.fd);
    this.byId.clear();
    this.byKey.clear();
    this.byId.set(FUSE_ROOT_ID, this.root);
    this.root.sameHash = undefined;
    this.addKey(this.root);
  }

  /** The id the next new node gets (a restore goes on from the saved one: ids are never reused). */
  get next(): number {
    return this.nextId;
  }

  /**
   * A restored node under its saved id, with its saved lookup count (takes `fd`); false (fd closed)
   * when the id or the inode already has a node, or the table is full.
   */
  adopt(id: number, fd: number, key: InodeKey, type: number, refs: number): boolean {
    if (this.byId.has(id) || this.find(key) || this.byId.size >= this.max) {
      this.close(fd);
      return false;
    }
    const node = new FsNode(id, fd, key.copy(), type);
    node.refs = refs;
    this.byId.set(id, node);
    this.addKey(node);
    this.nextId = Math.max(this.nextId, id + 1);
    return true;
  }

  /** Continue numbering at `id` at least (the saved session's next id). */
  skipTo(id: number): void {
    this.nextId = Math.max(this.nextId, id);
  }

  values(): IterableIterator<FsNode> {
    return this.byId.values();
  }

  /** Every fd the table holds, the root's included (for audits). */
  fds(): number[] {
    return [...this.byId.values()].map((n) => n.fd);
  }
}
