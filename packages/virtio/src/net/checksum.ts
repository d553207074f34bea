// Completing a partial checksum (virtio 1.2 §5.1.6.2, VIRTIO_NET_HDR_F_NEEDS_CSUM): the driver put
// the pseudo-header sum in the field at csum_start + csum_offset; the device sums frame[csum_start,
// len) as big-endian 16-bit words (RFC 1071) and stores the complement there.

/** Completes the checksum in place. Returns false (nothing written) when the offsets lie outside the frame. */
export function completeChecksum(frame: Uint8Array, len: number, start: number, offset: number): boolean {
  const field = start + offset;
  if (start >= len || field + 2 > len) return false;
  let acc = 0;
  let i = start;
  const end = len - 1;
  for (; i < end; i += 2) acc += (frame[i]! << 8) | frame[i + 1]!;
  if (i < len) acc += frame[i]! << 8;
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  let c = ~acc & 0xffff;
  // UDP (RFC 768): a computed 0 is sent as 0xffff; for TCP both are the same one's-complement value.
  if (c === 0) c = 0xffff;
  frame[field] = c >>> 8;
  frame[field + 1] = c & 0xff;
  return true;
}
