import {
  TOP_HELP
} from "./chunk-PRUE6SIQ.js";
import {
  UsageError
} from "./chunk-UIFDWR27.js";

// src/main.ts
import { createRequire } from "module";
async function main(argv) {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      // Each command's modules load when it runs: `vmm run` never compiles the NAT command's, nor
      // `vmm doctor` the library's.
      case "run":
        return await (await import("./run-LHVRWNSD.js")).runCommand(rest);
      case "doctor":
        return await (await import("./doctor-65XOU5P7.js")).doctorCommand(rest);
      case "nat":
        return await (await import("./nat-AHFU24KE.js")).natCommand([...rest]);
      case "remote":
        return await (await import("./remote-XRTER2HE.js")).remoteCommand(rest);
      case void 0:
      case "--help":
      case "-h":
      case "help":
        process.stdout.write(TOP_HELP);
        return command === void 0 ? 2 : 0;
      case "--version":
        process.stdout.write(`${version()}
`);
        return 0;
      default:
        throw new UsageError(
          `unknown command '${command}' (commands: run, doctor, nat, remote; see vmm --help)`
        );
    }
  } catch (e) {
    const err = e;
    process.stderr.write(`vmm: ${err.message}
`);
    if (process.env.VMM_DEBUG) process.stderr.write(`${err.stack}
`);
    return e instanceof UsageError ? 2 : 1;
  }
}
function version() {
  const require2 = createRequire(import.meta.url);
  for (const p of ["../package.json", "../../package.json"]) {
    try {
      return require2(p).version;
    } catch {
    }
  }
  return "unknown";
}

export {
  main
};
//# sourceMappingURL=chunk-VD4QOU4S.js.map