/** Cutting bytes into chunks for streaming tests: the same input in every split a property test draws. */

/** `bytes` cut at the given points (each taken modulo length + 1, sorted, deduplicated); empty chunks included. */
export function cutAt(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of at) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}
