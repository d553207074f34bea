export { main } from './main';
export { parseRunFlags, RUN_FLAGS } from './commands/run-flags';
export { UsageError } from './args/errors';
