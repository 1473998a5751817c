import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the proxy passed on (or answered itself): its body as sent, and its form parameters when it has any. */
export interface RecordedRequest {
  body: string;
  params: URLSearchParams;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`: give it as --endpoint-url. */
  url: string;
  /** Every request seen, in order. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of the simulator that records every request body: the request log the tool's
 * calls are checked against (which ARNs it sent). `intercept` may answer a request itself (return true after writing
 * the response), to reach paths the simulator alone does not.
 */
export async function startRecordingProxy(
  target: string,
  intercept?: (req: RecordedRequest, res: ServerResponse) => boolean,
): Promise<RecordingProxy> {
  const up = new URL(target);
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const recorded = { body: body.toString(), params: new URLSearchParams(body.toString()) };
      requests.push(recorded);
      if (intercept?.(recorded, res)) return;
      const forward = request(
        { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          const parts: Buffer[] = [];
          upRes.on('data', (c: Buffer) => parts.push(c));
          upRes.on('end', () => {
            res.writeHead(upRes.statusCode ?? 500, upRes.headers);
            res.end(Buffer.concat(parts));
          });
        },
      );
      forward.on('error', (e) => res.destroy(e));
      forward.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * Every ARN in the recorded requests: form parameters (EC2, STS, Auto Scaling: awsQuery, URL-decoded) and JSON
 * bodies (SSM, CloudWatch, Organizations), as sent.
 */
export function arnsSent(requests: readonly RecordedRequest[]): string[] {
  const out: string[] = [];
  for (const r of requests) {
    const texts = [r.body, ...[...r.params.values()]];
    for (const t of texts) out.push(...(t.match(/arn:[A-Za-z0-9-]*:[^"&\s,\]}]*/g) ?? []));
  }
  return [...new Set(out)];
}
