// `vmm run`: boot a VM and wait for it to end. Exit codes: 0 poweroff (or reset with --no-reboot),
// 1 a VM or host error (one line says what and what to do), 2 a bad command line.
import { Vmm } from '@vmm/vmm';
import { flagsHelp } from '../help';
import { RUN_FLAGS, parseRunFlags } from './run-flags';

export async function runCommand(argv: readonly string[]): Promise<number> {
  const config = parseRunFlags(argv);
  if (config === 'help') {
    process.stdout.write(flagsHelp('Usage: vmm run --kernel PATH [options]', RUN_FLAGS));
    return 0;
  }
  const vmm = await Vmm.create(config, { log: (line) => process.stderr.write(`vmm: ${line}\n`) });
  const onSignal = () => void vmm.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await vmm.run();
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
