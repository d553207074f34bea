// Typed errors of virtio-vsock's host side: what a connect(), a listen() or a stream's 'error'
// gives the host program. A guest's misbehaviour never throws: it resets that guest's connection.
import { VmmError } from '@vmm/hypervisor';

/**
 * `code` is the errno-style name a Node program expects of a socket (ECONNREFUSED, ECONNRESET,
 * ETIMEDOUT, EPIPE, EADDRINUSE) or a vsock-specific one (EVSOCK...).
 */
export class VsockError extends VmmError {}
