// Ethernet II frame header: IEEE 802.3-2018 §3.1.1 (destination MAC 6, source MAC 6, EtherType 2).
// 802.1Q tags and 802.3 length fields are not used by the guests we serve: such frames are dropped.

export const ETH_HLEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const BROADCAST_MAC = new Uint8Array([255, 255, 255, 255, 255, 255]);

/** Reads the EtherType of a frame; -1 for a frame too short to hold the header. */
export function etherType(frame: Uint8Array, len: number): number {
  if (len < ETH_HLEN || frame.length < ETH_HLEN) return -1;
  return (frame[12]! << 8) | frame[13]!;
}

/** Writes the header at frame[0, 14). */
export function writeEthernet(frame: Uint8Array, dst: Uint8Array, src: Uint8Array, type: number): void {
  frame.set(dst, 0);
  frame.set(src, 6);
  frame[12] = type >>> 8;
  frame[13] = type & 255;
}
