// The WebSocket wire codec: JSON in which Uint8Array and Float32Array travel as tagged base64
// (`{"$bytes": "..."}`, `{"$f32": "..."}`), so the browser-mode host carries exactly the values that
// Electron's structured clone carries. Decoding rebuilds only these two tags and plain JSON; it
// never constructs other types, so data cannot choose what gets instantiated.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function toBase64(b: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    chunk += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
    if (chunk.length > 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i] << 16;
    chunk += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (b[i] << 16) | (b[i + 1] << 8);
    chunk += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + '=';
  }
  parts.push(chunk);
  return parts.join('');
}

export function fromBase64(s: string): Uint8Array {
  let len = s.length;
  while (len > 0 && s[len - 1] === '=') len--;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c] : -1;
    if (v < 0) throw new Error('invalid base64');
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (value instanceof Float32Array) {
    return { $f32: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (value instanceof Uint8Array) return { $bytes: toBase64(value) };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const o = value as Record<string, unknown>;
      if (typeof o.$bytes === 'string') return fromBase64(o.$bytes);
      if (typeof o.$f32 === 'string') {
        const b = fromBase64(o.$f32);
        if (b.byteLength % 4 !== 0) throw new Error('invalid float32 payload');
        const f = new Float32Array(b.byteLength / 4);
        new Uint8Array(f.buffer).set(b);
        return f;
      }
    }
  }
  return value;
}

export function encode(value: unknown): string {
  return JSON.stringify(value, replacer);
}

export function decode(text: string): unknown {
  return JSON.parse(text, reviver);
}

// Wire messages (browser mode).
export interface CallMessage {
  id: number;
  method: string;
  args: unknown;
}
export interface ReplyMessage {
  id: number;
  reply: unknown;
}
export interface EventMessage {
  event: unknown;
}
