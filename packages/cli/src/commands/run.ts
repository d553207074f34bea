// `vmm run`: boot a VM and wait for it to end. Exit codes: 0 poweroff (or reset with --no-reboot),
// 1 a VM or host error (one line says what and what to do), 2 a bad command line.
import { Vmm, rateLimitedLog, startForward, startSocks5 } from '@vmm/vmm';
import { parseFlags } from '../args/argv';
import { flagsHelp } from '../help';
import { RUN_FLAGS, parseRunExtras, parseRunFlags } from './run-flags';
import { StopSignals } from './stop-signals';

const USAGE = `Usage: vmm run --kernel PATH [options]
       vmm run --api-socket path=PATH [--kernel PATH [options]]   (see vmm remote --help)
       vmm run --restore source_url=file:///DIR [--api-socket path=PATH]`;

export async function runCommand(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, RUN_FLAGS);
  // The API server's modules (node:http among them) load only for a VM served over the API.
  if ((flags.has('api-socket') || flags.has('restore')) && !flags.has('help'))
    return (await import('./run-api')).runApiCommand(argv);
  const config = parseRunFlags(argv);
  if (config === 'help') {
    process.stdout.write(flagsHelp(USAGE, RUN_FLAGS));
    return 0;
  }
  const extras = parseRunExtras(argv, config);
  // This process's main thread has nothing to do while the first vCPU's thread loads: it runs the
  // guest's first exits meanwhile (VmmOptions.earlyRun).
  const vmm = await Vmm.create(config, {
    log: (line) => process.stderr.write(`vmm: ${line}\n`),
    earlyRun: true,
  });
  const signals = new StopSignals(() => void vmm.stop());
  let code = 1;
  const servers: { close(): Promise<void> }[] = [];
  try {
    const running = vmm.run();
    if (extras.socks5 !== undefined || extras.forwards.length > 0) {
      const agent = vmm.agentClient();
      const connect = (host: string, port: number, timeoutMs: number) =>
        agent.connect(host, port, { timeoutMs });
      if (extras.socks5 !== undefined) {
        // The client sees only a reply code: say why on stderr, a line now and then.
        const log = rateLimitedLog((line) => process.stderr.write(`vmm: ${line}\n`));
        const onConnectError = (target: string, e: Error) =>
          log('socks5', `SOCKS5: CONNECT ${target} failed in the guest: ${e.message}`);
        servers.push(await startSocks5(connect, { listen: extras.socks5, onConnectError }));
      }
      for (const f of extras.forwards) servers.push(await startForward(connect, f));
    }
    code = (await running).exitCode;
    return code;
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    signals.settle(code);
  }
}
