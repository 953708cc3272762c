// Picks the host the UI talks to (Netron's Host pattern): the Electron preload's `window.atlas`
// when present, else the browser-mode WebSocket named by the page URL's token. The rest of the UI
// sees only AtlasHost and cannot tell which one it got.

import type { AtlasHost } from '../../../preload/api.ts';
import { createWsHost } from './ws-host.ts';

export function pickHost(): AtlasHost | null {
  if (window.atlas) return window.atlas;
  const token = new URLSearchParams(location.search).get('token');
  if (!token) return null;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return createWsHost(`${scheme}//${location.host}/api?token=${encodeURIComponent(token)}`);
}
