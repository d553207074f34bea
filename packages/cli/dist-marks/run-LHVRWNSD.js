import {
  StopSignals
} from "./chunk-NSACZRKH.js";
import {
  RUN_FLAGS,
  parseRunExtras,
  parseRunFlags
} from "./chunk-L33XYDW3.js";
import "./chunk-LRQRTXU3.js";
import {
  parseFlags
} from "./chunk-EZLHUZ5K.js";
import {
  flagsHelp
} from "./chunk-PRUE6SIQ.js";
import "./chunk-UIFDWR27.js";

// src/commands/run.ts
import { Vmm, rateLimitedLog, startForward, startSocks5 } from "@vmm/vmm";
var USAGE = `Usage: vmm run --kernel PATH [options]
       vmm run --api-socket path=PATH [--kernel PATH [options]]   (see vmm remote --help)
       vmm run --restore source_url=file:///DIR [--api-socket path=PATH]`;
async function runCommand(argv) {
  const { flags } = parseFlags(argv, RUN_FLAGS);
  if ((flags.has("api-socket") || flags.has("restore")) && !flags.has("help"))
    return (await import("./run-api-K7O7WDGH.js")).runApiCommand(argv);
  const config = parseRunFlags(argv);
  if (config === "help") {
    process.stdout.write(flagsHelp(USAGE, RUN_FLAGS));
    return 0;
  }
  const extras = parseRunExtras(argv, config);
  const vmm = await Vmm.create(config, {
    log: (line) => process.stderr.write(`vmm: ${line}
`),
    earlyRun: true
  });
  const signals = new StopSignals(() => void vmm.stop());
  let code = 1;
  const servers = [];
  try {
    const running = vmm.run();
    if (extras.socks5 !== void 0 || extras.forwards.length > 0) {
      const agent = vmm.agentClient();
      const connect = (host, port, timeoutMs) => agent.connect(host, port, { timeoutMs });
      if (extras.socks5 !== void 0) {
        const log = rateLimitedLog((line) => process.stderr.write(`vmm: ${line}
`));
        const onConnectError = (target, e) => log("socks5", `SOCKS5: CONNECT ${target} failed in the guest: ${e.message}`);
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
export {
  runCommand
};
//# sourceMappingURL=run-LHVRWNSD.js.map