// @vmm/vmm/api: Cloud Hypervisor's REST API on a Unix socket (server, controller, client), an entry
// of its own: it brings node:http, which a program that only boots VMs does not need.
export * from './api/index';
