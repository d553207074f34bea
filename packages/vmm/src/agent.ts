// @vmm/vmm/agent: the guest agent's client (over any stream: the VM's vsock, a Unix socket to the
// same agent run on the host), an entry of its own: a VM without the agent never loads it.
export * from './agent/index';
