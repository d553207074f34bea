import { VmConfig } from '@vmm/vmm';

declare function main(argv: readonly string[]): Promise<number>;

interface FlagSpec {
    /** Takes a value (`--kernel PATH` or `--kernel=PATH`). */
    value: boolean;
    /**
     * The value may be left out (`--net` alone: every key at its default): the next argument is
     * taken as the value only when it is not itself a flag.
     */
    optional?: boolean;
    /** May be given more than once. */
    repeat?: boolean;
}

declare const RUN_FLAGS: Record<string, FlagSpec & {
    help: string;
    arg?: string;
}>;
declare function parseRunFlags(argv: readonly string[]): VmConfig | 'help';

/** A problem with the command line itself: printed as one line, exit code 2. */
declare class UsageError extends Error {
    readonly code = "EUSAGE";
}

export { RUN_FLAGS, UsageError, main, parseRunFlags };
