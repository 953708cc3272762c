// Counted nouns in the UI's text: "1 checkpoint", "2 checkpoints" (issue 15 saw "1 checkpoints").

/** `n` and the noun, plural unless n is 1 (`plural(1, 'run')` is "1 run"). */
export function plural(n: number, noun: string, many = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : many}`;
}
