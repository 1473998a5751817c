import type { Simulator } from '../simulator.js';

/** What a rejected SDK call failed with: the error name (AWS's code), HTTP status and message. */
export interface Rejection {
  name: string;
  status?: number;
  message: string;
}

/** Awaits a call that must fail and returns how; throws when it succeeds. */
export async function rejection(p: Promise<unknown>): Promise<Rejection> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error('expected a rejection');
}

/** SDK client configuration for one account (by its AKIA<account>TEST key) and region of a running simulator. */
export function clientConfig(sim: Simulator, region: string, account = '111111111111') {
  return {
    endpoint: sim.url,
    region,
    credentials: { accessKeyId: `AKIA${account}TEST`, secretAccessKey: 'x' },
    maxAttempts: 1,
  };
}
