// Tests only: a FramePort that keeps copies of every frame sent to the guest.
import type { FramePort } from '../frame-port';

export class CapturePort implements FramePort {
  readonly frames: Uint8Array[] = [];
  send(frame: Uint8Array, length: number): void {
    this.frames.push(frame.slice(0, length));
  }
  take(): Uint8Array[] {
    return this.frames.splice(0);
  }
}
