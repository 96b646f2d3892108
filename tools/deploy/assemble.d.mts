// Types of assemble.mjs, which stays plain JavaScript so the Dockerfiles run it with nothing but Node.
export interface LockEntry {
  version?: string;
  resolved?: string;
  link?: boolean;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  hasInstallScript?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
export interface Lockfile {
  packages: Record<string, LockEntry>;
}
export function pruneLock(lock: Lockfile, roots: string[]): Record<string, LockEntry>;
export function runtimeImports(
  app: string,
  lock: Lockfile,
): { libs: Map<string, string>; externals: Map<string, string> };
export function assemble(
  app: string,
  outDir: string,
): {
  manifest: { name: string; dependencies: Record<string, string> };
  externals: string[];
  libs: string[];
  packages: number;
};
