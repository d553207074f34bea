import {
  parseFlags
} from "./chunk-EZLHUZ5K.js";
import "./chunk-UIFDWR27.js";

// src/commands/doctor.ts
import fs from "fs";
import { probe } from "@vmm/hypervisor";
import { hostQuirks } from "@vmm/vmm";
async function doctorCommand(argv, out = process.stdout) {
  const { flags } = parseFlags(argv, {
    tiers: { value: false },
    json: { value: false },
    help: { value: false }
  });
  if (flags.has("help")) {
    out.write("Usage: vmm doctor [--tiers] [--json]\n");
    return 0;
  }
  const p = probe();
  if (flags.has("json")) {
    out.write(`${JSON.stringify(p, null, 2)}
`);
    return 0;
  }
  if (flags.has("tiers")) {
    out.write(tiersReport(p));
    return 0;
  }
  out.write(doctorReport(p));
  return p.problems.length === 0 ? 0 : 1;
}
function doctorReport(p) {
  const lines = [
    `backend:        ${p.backend}`,
    `/dev/kvm:       ${p.present ? p.accessible ? "present, accessible" : "present, NOT accessible" : "absent"}`,
    `virtualization: ${p.virtualization}`
  ];
  if (p.apiVersion !== void 0) lines.push(`KVM API:        ${p.apiVersion}`);
  for (const [k, v] of Object.entries(p.details))
    lines.push(`${`${k}:`.padEnd(16)} ${v}`.replace(/: +/, ": ".padEnd(Math.max(2, 17 - k.length))));
  if (p.extensions.length > 0) {
    lines.push("extensions:");
    for (const e of p.extensions) lines.push(`  ${e.present ? "yes" : "NO "} ${e.name}`);
  }
  const quirks = hostQuirks(p.virtualization);
  if (quirks.length > 0) {
    lines.push("guest command-line additions on this host (vmm run --host-quirks off to disable):");
    for (const q of quirks) lines.push(`  ${q.option}  (${q.reason})`);
  }
  if (p.problems.length === 0) lines.push("ok: this host can run VMs");
  for (const pr of p.problems) lines.push(`problem: ${pr.problem}`, `  fix: ${pr.fix}`);
  return `${lines.join("\n")}
`;
}
function tiersReport(p) {
  const kvm = p.present && p.accessible;
  const why = p.problems[0]?.problem ?? "no usable /dev/kvm";
  const root = process.getuid?.() === 0;
  const tun = fs.existsSync("/dev/net/tun");
  const fuse = fs.existsSync("/dev/fuse");
  const yes = (ok, no) => ok ? "RUNS" : `SKIPPED: ${no}`;
  return [
    `host virtualization: ${p.virtualization}${kvm ? "" : ` (${why})`}`,
    `tier 1 unit and model tests: RUNS`,
    `tier 2 test guests on /dev/kvm: ${yes(kvm, why)}`,
    `tier 3 real counterparts (netns + tap, /dev/fuse): ${yes(root && tun, "needs root and /dev/net/tun")}${fuse ? "" : " (no /dev/fuse)"}`,
    `tier 4 Linux guests on /dev/kvm: ${yes(kvm, why)}`,
    ""
  ].join("\n");
}
export {
  doctorCommand,
  doctorReport,
  tiersReport
};
//# sourceMappingURL=doctor-65XOU5P7.js.map