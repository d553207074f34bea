// The part of istanbul-lib-instrument (6.x, no types of its own) that instrument.ts uses.
declare module 'istanbul-lib-instrument' {
  interface Range {
    start: { line: number; column: number };
  }
  export interface FileCoverage {
    statementMap: Record<string, Range>;
    fnMap: Record<string, { decl: Range }>;
    branchMap: Record<string, { loc: Range; locations: Range[] }>;
  }
  export interface InstrumenterOptions {
    coverageVariable?: string;
    compact?: boolean;
    esModules?: boolean;
    parserPlugins?: string[];
    coverageGlobalScope?: string;
    coverageGlobalScopeFunc?: boolean;
  }
  export interface Instrumenter {
    instrumentSync(code: string, filename: string): string;
    lastFileCoverage(): FileCoverage;
  }
  export function createInstrumenter(options?: InstrumenterOptions): Instrumenter;
}
