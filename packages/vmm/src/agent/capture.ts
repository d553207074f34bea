// A bounded capture of a command's stdout or stderr: keeps the first `limit` bytes and remembers
// whether more came.
export class OutputCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (chunk.length > room) this.truncated = true;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length === 0) return;
    this.chunks.push(part);
    this.kept += part.length;
  }

  result(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}
