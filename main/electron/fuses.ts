// Electron fuses (https://www.electronjs.org/docs/latest/tutorial/fuses): switches flipped in the
// packaged binary itself, so no environment variable or argument can turn them back. Off: running
// the binary as plain Node (ELECTRON_RUN_AS_NODE), NODE_OPTIONS, --inspect arguments and file://
// privileges; on: cookie encryption, loading the app only from its asar archive, and checking that
// archive against the integrity hash embedded at packaging. electron-builder.json applies the
// same list (`electronFuses`, asserted equal by test/main/electron/packaging.test.ts).

/** FuseV1Options of @electron/fuses, by name, and the value each packaged app gets. */
export const FUSES = {
  RunAsNode: false,
  EnableCookieEncryption: true,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  LoadBrowserProcessSpecificV8Snapshot: false,
  GrantFileProtocolExtraPrivileges: false,
} as const;

/** The same list in electron-builder's `electronFuses` spelling (lower camel case). */
export function builderFuses(): Record<string, boolean> {
  return Object.fromEntries(Object.entries(FUSES).map(([k, v]) => [k[0].toLowerCase() + k.slice(1), v]));
}
