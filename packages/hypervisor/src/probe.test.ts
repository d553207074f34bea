import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probe, queryKvmDevice, type KvmQuery } from './probe';

const VMX = 'flags\t\t: fpu vme de pse tsc msr pae vmx sse sse2\nmodel name\t: Test CPU @ 3.0GHz\n';
const SVM = 'flags\t\t: fpu vme de pse tsc msr pae svm sse sse2\nmodel name\t: Test AMD CPU\n';
const GUEST = 'flags\t\t: fpu vme de pse tsc msr pae sse sse2 hypervisor\nmodel name\t: Test vCPU\n';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A fixture root: /proc/cpuinfo, /sys/module/<modules>, optionally /dev/kvm, /etc/group. */
function host(opts: { cpuinfo: string; modules?: string[]; kvm?: boolean; group?: string; gid?: number }) {
  const root = path.join(tmp, String(n++));
  for (const d of ['dev', 'proc/sys/kernel', 'sys/module', 'etc'])
    fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, 'proc/cpuinfo'), opts.cpuinfo);
  fs.writeFileSync(path.join(root, 'proc/sys/kernel/osrelease'), '6.1.0-test\n');
  for (const m of opts.modules ?? []) fs.mkdirSync(path.join(root, 'sys/module', m));
  if (opts.kvm) {
    fs.writeFileSync(path.join(root, 'dev/kvm'), '');
    if (opts.gid !== undefined) fs.chownSync(path.join(root, 'dev/kvm'), 0, opts.gid);
  }
  fs.writeFileSync(path.join(root, 'etc/group'), opts.group ?? 'root:x:0:\n');
  const roots = {
    dev: path.join(root, 'dev'),
    proc: path.join(root, 'proc'),
    sys: path.join(root, 'sys'),
    etc: path.join(root, 'etc'),
  };
  return roots;
}

const ALL = ['KVM_CAP_USER_MEMORY', 'KVM_CAP_IRQFD'];
const ok: () => KvmQuery = () => ({
  accessible: true,
  apiVersion: 12,
  extensions: ALL.map((name) => ({ name, present: true })),
});

describe('probe() on fixture trees', () => {
  it('hardware host with a usable /dev/kvm: no problems', () => {
    const p = probe({
      roots: host({ cpuinfo: VMX, modules: ['kvm', 'kvm_intel'], kvm: true }),
      queryKvm: ok,
    });
    expect(p).toMatchObject({
      backend: 'kvm',
      present: true,
      accessible: true,
      apiVersion: 12,
      virtualization: 'hardware',
      problems: [],
    });
    expect(p.details).toMatchObject({ cpu: 'Test CPU @ 3.0GHz', kernel: '6.1.0-test', module: 'kvm_intel' });
    expect(p.extensions).toHaveLength(2);
  });

  it('VT-x but no module loaded: modprobe kvm_intel', () => {
    const p = probe({ roots: host({ cpuinfo: VMX }) });
    expect(p.present).toBe(false);
    expect(p.virtualization).toBe('hardware');
    expect(p.problems).toHaveLength(1);
    expect(p.problems[0]!.fix).toMatch(/modprobe kvm_intel/);
  });

  it('AMD-V, kvm loaded but not kvm_amd: modprobe kvm_amd or enable SVM in the firmware', () => {
    const p = probe({ roots: host({ cpuinfo: SVM, modules: ['kvm'] }) });
    expect(p.problems[0]!.problem).toMatch(/kvm_amd is not/);
    expect(p.problems[0]!.fix).toMatch(/modprobe kvm_amd.*firmware/);
  });

  it('no VT-x/AMD-V in a VM: enable nested virtualization', () => {
    const p = probe({ roots: host({ cpuinfo: GUEST }) });
    expect(p.virtualization).toBe('none');
    expect(p.problems[0]!.fix).toMatch(/nested virtualization/);
  });

  it('no permission: names the group that owns /dev/kvm (from stat and /etc/group)', () => {
    const roots = host({
      cpuinfo: VMX,
      modules: ['kvm', 'kvm_intel'],
      kvm: true,
      gid: 993,
      group: 'root:x:0:\nkvm:x:993:\n',
    });
    const p = probe({ roots, queryKvm: () => ({ accessible: false, error: 'EACCES (Permission denied)' }) });
    expect(p).toMatchObject({ present: true, accessible: false });
    expect(p.problems[0]!.problem).toMatch(/EACCES/);
    expect(p.problems[0]!.fix).toMatch(/usermod -aG kvm/);
  });

  it('this host’s case: kvm_pvm loaded, /dev/kvm absent, a hypervisor underneath -> a kvm-pvm guest', () => {
    const p = probe({ roots: host({ cpuinfo: GUEST, modules: ['kvm', 'kvm_pvm'] }) });
    expect(p).toMatchObject({ present: false, virtualization: 'none' });
    expect(p.problems[0]!.problem).toMatch(/itself a kvm-pvm guest/);
    expect(p.details['running under']).toMatch(/hypervisor/);
  });

  it('kvm_pvm with /dev/kvm and no VT-x/AMD-V: software-emulated', () => {
    const p = probe({
      roots: host({ cpuinfo: GUEST, modules: ['kvm', 'kvm_pvm'], kvm: true }),
      queryKvm: ok,
    });
    expect(p).toMatchObject({
      present: true,
      accessible: true,
      virtualization: 'software-emulated',
      problems: [],
    });
  });

  it('a missing extension or another API version is a problem', () => {
    const roots = host({ cpuinfo: VMX, modules: ['kvm', 'kvm_intel'], kvm: true });
    const p = probe({
      roots,
      queryKvm: () => ({
        accessible: true,
        apiVersion: 11,
        extensions: [{ name: 'KVM_CAP_IRQFD', present: false }],
      }),
    });
    expect(p.problems.map((x) => x.problem)).toEqual([
      expect.stringMatching(/API 11/),
      expect.stringMatching(/lacks KVM_CAP_IRQFD/),
    ]);
  });
});

describe('probe() on this real host', () => {
  it('reports what this machine is', () => {
    const p = probe();
    console.info(
      `host probe: ${JSON.stringify({ present: p.present, virtualization: p.virtualization, problems: p.problems })}`,
    );
    expect(p.present).toBe(fs.existsSync('/dev/kvm'));
    if (!fs.existsSync('/dev/kvm') && fs.existsSync('/sys/module/kvm_pvm')) {
      // The machine this project is developed on: a PVM guest with kvm_pvm loaded and no /dev/kvm.
      expect(p.virtualization).toBe('none');
      expect(p.accessible).toBe(false);
      expect(p.problems[0]!.problem).toMatch(/itself a kvm-pvm guest/);
    } else if (p.present && p.accessible) {
      expect(p.apiVersion).toBe(12);
    }
  });

  it('a real KVM ioctl on /dev/null fails with ENOTTY, named', () => {
    expect(queryKvmDevice('/dev/null')).toEqual({
      accessible: true,
      error: 'KVM_GET_API_VERSION failed: ENOTTY (Inappropriate ioctl for device)',
      extensions: [],
    });
    expect(queryKvmDevice('/nonexistent/kvm')).toEqual({
      accessible: false,
      error: 'ENOENT (No such file or directory)',
    });
  });
});
