/** What an SDK middleware at the deserialize step sees of the HTTP response. */
export interface RawResponse {
  response: { statusCode?: number; body?: unknown };
}

/** The whole body of a raw HTTP response (a stream from the HTTP handler, or bytes already read). */
export async function readBody(body: unknown): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/**
 * Adds to one command a middleware that reads the body of a 2xx answer before the SDK's deserializer does and passes
 * it to `see`, which returns the body the SDK then reads (the same bytes, or a replacement). Error answers pass
 * untouched, so the SDK still turns them into typed errors and retries them. The command's own stack: no other call
 * is affected.
 */
export function peekBody(
  command: { middlewareStack: { add: (mw: never, options: object) => void } },
  name: string,
  see: (body: Buffer) => Uint8Array,
): void {
  const mw = (next: (args: unknown) => Promise<RawResponse>) => async (args: unknown) => {
    const out = await next(args);
    const status = out.response.statusCode ?? 0;
    if (status >= 200 && status < 300) out.response.body = see(await readBody(out.response.body));
    return out;
  };
  command.middlewareStack.add(mw as never, { step: 'deserialize', priority: 'low', name });
}
