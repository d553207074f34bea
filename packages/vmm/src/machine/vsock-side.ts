// What a VM with vsock needs on the host beyond the device: the guest agent (its binary joined to
// the initramfs, its client) and the Unix-socket muxer. Loaded by Vmm.create only for such a VM:
// with the device's own entry, the largest part of the library that a plain VM never compiles.
export { VsockDevice } from '@vmm/virtio/vsock';
export { agentArchive, agentArchiveOffset, cmdlineWithAgent, initrdWithAgent } from '../agent/initramfs';
export { readAgentBinary } from '../agent/binary-path';
export { AgentClient } from '../agent/client';
export { openAgentStream } from '../agent/vsock-stream';
export { VsockUnixMuxer, checkVsockSocketFolder } from '../vsock/unix-muxer';
