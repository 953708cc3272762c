// Ambient types of the renderer: Svelte components as modules, and the preload's `window.atlas`.
declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<Record<string, unknown>>;
  export default component;
}

interface Window {
  atlas?: import('../../preload/api.ts').AtlasHost;
}
