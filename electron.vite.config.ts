// electron-vite build (DESIGN.md "Processes"): three bundles from the top-level folders.
//   main:     main/electron/index.ts (the shell) and main/transport/engine-main.ts (the engine process,
//             started as an Electron utilityProcess) -> out/main/{index,engine}.js, ESM; native
//             and npm packages stay external.
//   preload:  preload/index.ts -> out/preload/index.cjs, CommonJS and self-contained, as a
//             sandboxed preload must be (Electron "Process Sandboxing").
//   renderer: renderer/index.html (Svelte 5) -> out/renderer, also served by browser mode.
// `rendererConfig` is exported so main/renderer-build.ts can build the renderer alone.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { UserConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The renderer's Vite config (used by electron-vite and by browser mode's on-demand build). */
export function rendererConfig(): UserConfig {
  return {
    root: resolve(root, 'renderer'),
    base: './',
    plugins: [svelte()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      emptyOutDir: true,
      target: 'chrome130',
      minify: true,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 2000,
      rolldownOptions: { input: resolve(root, 'renderer/index.html') },
    },
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      lib: {
        entry: {
          index: resolve(root, 'main/electron/index.ts'),
          engine: resolve(root, 'main/transport/engine-main.ts'),
        },
        formats: ['es'],
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      externalizeDeps: false,
      lib: { entry: { index: resolve(root, 'preload/index.ts') }, formats: ['cjs'] },
    },
  },
  renderer: rendererConfig(),
});
