/** How much of a file is sniffed for NUL bytes; text files essentially never contain one. */
export const BINARY_SNIFF_BYTES = 8192;

export function looksBinary(head: Buffer): boolean {
  return head.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}
