// Types for build.mjs, so the TypeScript platform code can import it.
export interface BinarySpec {
  name: string;
  module: string;
  pkg: string;
  ldflags: string;
}
export declare const BINARIES: BinarySpec[];
export declare function cacheRoot(): string;
export declare function binaryPaths(): Record<string, string>;
export declare function buildAll(opts?: { log?: (message: string) => void }): Promise<Record<string, string>>;
