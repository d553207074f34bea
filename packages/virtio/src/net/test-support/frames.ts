// The guest-side frame encoder and reader of @vmm/net's tests (independent of the NAT's own
// header code), under the names virtio-net's tests use.
export * from '../../../../net/src/test-support/guest-frames';
