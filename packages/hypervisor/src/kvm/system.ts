// The /dev/kvm file descriptor: API version, capabilities, vCPU mmap size, supported CPUID, the
// MSRs KVM saves and restores.
import { HypervisorUnavailableError } from '../errors';
import { callError, check } from '../sys/call';
import { describeErrno, E2BIG, EACCES, ENOENT, EPERM } from '../sys/errno';
import { lastErrno, libc } from '../sys/libc';
import type { CpuidEntry } from '../types';
import {
  KVM_API_VERSION,
  KVM_CHECK_EXTENSION,
  KVM_GET_API_VERSION,
  KVM_GET_MSR_INDEX_LIST,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_VCPU_MMAP_SIZE,
  REQUIRED_CAPABILITIES,
} from './constants';
import { allocCpuid2, readCpuid2 } from './structs/cpuid2';
import { allocMsrList, msrListCount, readMsrList } from './structs/msr-list';

// <fcntl.h> (x86_64).
const O_RDWR = 2;
const O_CLOEXEC = 0x80000;

/** KVM_GET_SUPPORTED_CPUID: first try this many entries, doubling on E2BIG up to the maximum. */
const CPUID_FIRST_TRY = 128;
const CPUID_MAX = 4096;

export class KvmSystem {
  private closed = false;

  private constructor(readonly fd: number) {}

  /** Opens /dev/kvm and checks the API version and every capability the backend needs. */
  static open(devicePath = '/dev/kvm'): KvmSystem {
    const fd = libc().open(devicePath, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      const errno = lastErrno();
      if (errno === ENOENT) {
        throw new HypervisorUnavailableError(
          'ENOKVM',
          `${devicePath} does not exist: load the KVM module (modprobe kvm_intel or kvm_amd) and enable VT-x/AMD-V in the firmware; run \`vmm doctor\` for this host`,
        );
      }
      if (errno === EACCES || errno === EPERM) {
        throw new HypervisorUnavailableError(
          'EKVMACCESS',
          `cannot open ${devicePath}: ${describeErrno(errno)}; add your user to the group that owns it (usually kvm) and log in again`,
        );
      }
      throw new HypervisorUnavailableError('ENOKVM', `cannot open ${devicePath}: ${describeErrno(errno)}`);
    }
    const sys = new KvmSystem(fd);
    try {
      const version = check('KVM_GET_API_VERSION', libc().ioctlInt(fd, KVM_GET_API_VERSION, 0));
      if (version !== KVM_API_VERSION) {
        throw new HypervisorUnavailableError(
          'EKVMAPI',
          `${devicePath} speaks KVM API ${version}, not ${KVM_API_VERSION}: this kernel's KVM is not the one vmm supports`,
        );
      }
      const missing = REQUIRED_CAPABILITIES.filter((c) => sys.checkExtension(c.cap) <= 0).map((c) => c.name);
      if (missing.length > 0) {
        throw new HypervisorUnavailableError(
          'EKVMCAP',
          `this host's KVM lacks ${missing.join(', ')}: use a newer kernel (Linux 4.14 or later has them all)`,
        );
      }
    } catch (e) {
      sys.close();
      throw e;
    }
    return sys;
  }

  /** KVM_CHECK_EXTENSION: 0 when absent, else a positive, capability-specific value. */
  checkExtension(cap: number): number {
    const r = libc().ioctlInt(this.fd, KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
  }

  vcpuMmapSize(): number {
    return check('KVM_GET_VCPU_MMAP_SIZE', libc().ioctlInt(this.fd, KVM_GET_VCPU_MMAP_SIZE, 0));
  }

  /** KVM_GET_SUPPORTED_CPUID, growing the buffer while the kernel answers E2BIG. */
  supportedCpuid(): CpuidEntry[] {
    for (let capacity = CPUID_FIRST_TRY; ; capacity *= 2) {
      const buf = allocCpuid2(capacity);
      const r = libc().ioctlPtr(this.fd, KVM_GET_SUPPORTED_CPUID, buf);
      if (r >= 0) return readCpuid2(buf);
      const errno = lastErrno();
      if (errno !== E2BIG || capacity >= CPUID_MAX) throw callError('KVM_GET_SUPPORTED_CPUID', errno);
    }
  }

  /**
   * KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores for a vCPU (arch/x86/kvm/x86.c
   * msrs_to_save and emulated_msrs), asked with an empty list first for the count.
   */
  msrIndexList(): number[] {
    let capacity = 0;
    for (let tries = 0; tries < 4; tries++) {
      const buf = allocMsrList(capacity);
      if (libc().ioctlPtr(this.fd, KVM_GET_MSR_INDEX_LIST, buf) >= 0) return readMsrList(buf);
      const errno = lastErrno();
      if (errno !== E2BIG) throw callError('KVM_GET_MSR_INDEX_LIST', errno);
      capacity = msrListCount(buf);
    }
    throw callError('KVM_GET_MSR_INDEX_LIST', E2BIG, 'the list kept growing');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
  }
}
