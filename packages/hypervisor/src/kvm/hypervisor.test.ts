// Opening the KVM backend where it cannot work: the errors say what happened and what to do.
// Real ioctls on real files (no KVM needed).
import { describe, expect, it } from 'vitest';
import { HypervisorCallError, HypervisorUnavailableError } from '../errors';
import { KvmHypervisor } from './hypervisor';

describe('KvmHypervisor errors', () => {
  it('a missing device: HypervisorUnavailableError with the fix', () => {
    let err: unknown;
    try {
      new KvmHypervisor({ devicePath: '/nonexistent/kvm' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HypervisorUnavailableError);
    expect(err).toMatchObject({ code: 'ENOKVM' });
    expect((err as Error).message).toMatch(
      /\/nonexistent\/kvm does not exist: load the KVM module \(modprobe kvm_intel/,
    );
  });

  it('a real KVM ioctl failure (KVM_GET_API_VERSION on /dev/null): ioctl name and errno name in the message', () => {
    let err: unknown;
    try {
      new KvmHypervisor({ devicePath: '/dev/null' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HypervisorCallError);
    expect(err).toMatchObject({ code: 'EHYPERCALL', call: 'KVM_GET_API_VERSION', errno: 25 });
    expect((err as Error).message).toBe(
      'KVM_GET_API_VERSION failed: ENOTTY (Inappropriate ioctl for device)',
    );
  });
});
