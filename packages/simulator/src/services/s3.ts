import type { IncomingMessage } from 'node:http';
import type { SimState } from '../context.js';
import { ServiceError } from '../protocol/errors.js';
import { escapeXml } from '../protocol/xml.js';

/**
 * A minimal S3 (REST-XML, path-style addressing): only what Run Command's `OutputS3BucketName` needs. SSM writes the
 * full output of an invocation here and GetObject reads it back. Buckets are created on first write and belong to the
 * account that wrote them.
 */

interface StoredObject {
  account: string;
  body: string;
  /** Simulated ms from which the object is visible. */
  at: number;
}

function objectsOf(sim: SimState): Map<string, StoredObject> {
  return (sim.services.s3Objects ??= new Map<string, StoredObject>()) as Map<string, StoredObject>;
}

export function putObject(
  sim: SimState,
  o: { account: string; bucket: string; key: string; body: string; at: number },
): void {
  objectsOf(sim).set(`${o.bucket}/${o.key}`, { account: o.account, body: o.body, at: o.at });
}

/** The operation of a path-style S3 request (`GET /bucket/key`), or undefined when it is not one the simulator serves. */
export function s3Operation(req: IncomingMessage): string | undefined {
  return req.method === 'GET' && /^\/[^/?]+\/[^?]+/.test(req.url ?? '') ? 'GetObject' : undefined;
}

/** GetObject: the body and its headers, or NoSuchKey / NoSuchBucket / AccessDenied as S3 answers them. */
export function getObject(
  sim: SimState,
  account: string,
  nowMs: number,
  url: string,
): { body: string; headers: Record<string, string> } {
  const path = url.split('?')[0]!;
  const slash = path.indexOf('/', 1);
  const bucket = decodeURIComponent(path.slice(1, slash));
  const key = path
    .slice(slash + 1)
    .split('/')
    .map(decodeURIComponent)
    .join('/');
  const objects = objectsOf(sim);
  const o = objects.get(`${bucket}/${key}`);
  if (!o || o.at > nowMs) {
    const known = [...objects.keys()].some((k) => k.startsWith(`${bucket}/`));
    if (!known) throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', { status: 404 });
    throw new ServiceError('NoSuchKey', 'The specified key does not exist.', { status: 404 });
  }
  if (o.account !== account) throw new ServiceError('AccessDenied', 'Access Denied', { status: 403 });
  const bytes = Buffer.byteLength(o.body, 'utf8');
  return {
    body: o.body,
    headers: {
      'Content-Length': String(bytes),
      ETag: `"${bytes.toString(16)}"`,
      'Last-Modified': new Date(o.at).toUTCString(),
    },
  };
}

/** The S3 error document. */
export function s3ErrorXml(e: ServiceError, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message><RequestId>${requestId}</RequestId></Error>`;
}
