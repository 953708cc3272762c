// Small shared checks for the accumulators' serialised form. JSON numbers round-trip float64
// exactly in JavaScript (shortest round-trip printing, ECMA-262 Number::toString), so a state
// written with toJSON and read with fromJSON continues bit-for-bit; non-finite values, which JSON
// cannot hold, are written as null.

/** Throws unless a length matches what an accumulator expects (a programming error, not user input). */
export function checkDim(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: expected length ${want}, got ${got}`);
}

/** Throws unless a serialised state names the expected accumulator type. */
export function checkType(json: unknown, type: string): void {
  const t = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
  if (t !== type) throw new Error(`fromJSON: expected a '${type}' state, got ${JSON.stringify(t)}`);
}

/** A JSON number array of a known length as float64 (null -> NaN). */
export function toFloat64(values: readonly (number | null)[], length: number, what: string): Float64Array {
  if (!Array.isArray(values)) throw new Error(`fromJSON: ${what} is not an array`);
  checkDim(`fromJSON ${what}`, values.length, length);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = values[i] === null ? NaN : Number(values[i]);
  return out;
}

/** A float64 as JSON: the number, or null where it is not finite. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x + 0 : null; // -0 becomes 0, as JSON writes it
}
