// Renderer entry: picks the host (Electron preload or browser-mode WebSocket) and mounts the app.
import { mount } from 'svelte';
import App from './App.svelte';
import { pickHost } from './host/index.ts';
import './app.css';

const target = document.getElementById('app');
if (target) mount(App, { target, props: { host: pickHost() } });
