// src/first-thread.ts
import { releaseWarmThreads, warmThreads } from "@vmm/vmm/warm";
function startFirstThread(argv) {
  if (argv[0] === "run" && !argv.includes("--help") && !argv.includes("-h"))
    warmThreads(1, { refill: false });
}
function endFirstThread() {
  return releaseWarmThreads();
}

// src/start.ts
async function start(argv) {
  startFirstThread(argv);
  const { main } = await import("./main-J3CKRSQO.js");
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.stderr.write(`vmm: internal error: ${e.stack ?? String(e)}
`);
    process.exitCode = 1;
  }
  await endFirstThread();
}
export {
  start
};
//# sourceMappingURL=start.js.map