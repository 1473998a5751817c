import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accountForKey, parseAuthorization } from './accounts.js';
import type { Call, JsonService, QueryService, SimState } from './context.js';
import type { Counters } from './counters.js';
import type { Faults } from './faults.js';
import { ServiceError } from './protocol/errors.js';
import { awsJsonStringify } from './protocol/json-query.js';
import { QueryParams } from './protocol/query.js';
import { escapeXml } from './protocol/xml.js';
import { getObject, s3ErrorXml, s3Operation } from './services/s3.js';
import { type LatencyModel, modelledLatencyMs } from './latency.js';
import type { Throttler } from './throttle.js';

export interface ServerEnv {
  state: SimState;
  /** Query services by API version (`2016-11-15` -> EC2). */
  queryServices: Map<string, QueryService>;
  /** JSON services by `X-Amz-Target` prefix (`AmazonSSM` -> SSM). */
  jsonServices: Map<string, JsonService>;
  counters: Counters;
  throttler: Throttler;
  faults: Faults;
  /** Flat latency added to every call before it is served (ms). */
  latencyMs: number;
  /** Per-operation latency (base + per item), measured from the request's arrival to the answer. */
  latency: LatencyModel | undefined;
  /** Services that are global (no regional state): STS, Organizations. */
  globalServices: Set<string>;
}

const throttleErrors: Record<string, ServiceError> = {
  ec2: new ServiceError('RequestLimitExceeded', 'Request limit exceeded.', { status: 503 }),
  ssm: new ServiceError('ThrottlingException', 'Rate exceeded'),
  organizations: new ServiceError(
    'TooManyRequestsException',
    'You have sent too many requests in too short a period of time.',
  ),
};
const defaultThrottle = new ServiceError('Throttling', 'Rate exceeded');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Serves one HTTP request: finds the service and operation from the protocol signals, then runs it. */
export async function handleRequest(env: ServerEnv, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const arrivedMs = performance.now();
  const body = await readBody(req);
  const requestId = randomUUID();
  const target = req.headers['x-amz-target'];
  let json: { svc: JsonService; op: string } | undefined;
  let query: { svc: QueryService; op: string; params: QueryParams } | undefined;
  if (typeof target === 'string' && target.includes('.')) {
    const [prefix, op] = target.split('.', 2) as [string, string];
    const svc = env.jsonServices.get(prefix);
    if (svc) json = { svc, op };
  } else if (req.method === 'POST' || req.method === 'GET') {
    const params = new QueryParams(req.method === 'GET' ? (req.url?.split('?')[1] ?? '') : body);
    const svc = env.queryServices.get(params.get('Version') ?? '');
    const op = params.get('Action');
    if (svc && op) query = { svc, op, params };
  }
  const s3Op = !json && !query ? s3Operation(req) : undefined;
  const serviceName = json?.svc.name ?? query?.svc.name ?? (s3Op ? 's3' : undefined);
  // A `dropAnswer` fault: the call is served, then its connection reset instead of a successful answer.
  let dropAnswer = false;
  let items = 0;
  let latencyKey = '';
  // Time slept on purpose (the flat latency, a slow fault): the model's latency comes on top of it.
  let sleptMs = 0;
  const send = (status: number, contentType: string, payload: string, headers: Record<string, string> = {}): void => {
    const holdMs = modelledLatencyMs(env.latency, latencyKey, items) + sleptMs - (performance.now() - arrivedMs);
    if (holdMs > 0) {
      setTimeout(() => sendNow(status, contentType, payload, headers), holdMs);
      return;
    }
    sendNow(status, contentType, payload, headers);
  };
  const sendNow = (status: number, contentType: string, payload: string, headers: Record<string, string>): void => {
    if (res.destroyed) return;
    if (dropAnswer && status < 300) {
      env.counters.fault('dropAnswer');
      req.socket.destroy();
      return;
    }
    res.writeHead(status, {
      'Content-Type': contentType,
      Date: env.state.clock.now().toUTCString(),
      'x-amzn-RequestId': requestId,
      ...headers,
    });
    res.end(payload);
  };
  const sendError = (e: ServiceError): void => {
    if (s3Op) {
      send(e.status, 'application/xml', s3ErrorXml(e, requestId));
    } else if (json) {
      const payload = JSON.stringify({
        __type: `${json.svc.namespace}#${e.jsonType ?? e.code}`,
        message: e.message,
        ...e.extra,
      });
      const headers: Record<string, string> = { 'x-amzn-ErrorType': e.jsonType ?? e.code };
      if (json.svc.queryCompatible) headers['x-amzn-query-error'] = `${e.code};${e.fault}`;
      send(e.status, json.svc.contentType, payload, headers);
    } else if (query?.svc.ec2 !== false) {
      send(
        e.status,
        'text/xml;charset=UTF-8',
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
      );
    } else {
      send(
        e.status,
        'text/xml',
        `<ErrorResponse xmlns="${query.svc.xmlns}"><Error><Type>${e.fault}</Type><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    }
  };

  if (!serviceName) {
    sendError(
      new ServiceError(
        'InvalidAction',
        'The action or operation requested is not valid. Unknown protocol, service or API version.',
      ),
    );
    return;
  }
  const op = (json?.op ?? query?.op ?? s3Op)!;
  const key = `${serviceName}.${op}`;
  latencyKey = key;
  env.counters.call(key);
  try {
    const auth = parseAuthorization(req.headers.authorization);
    if (!auth)
      throw new ServiceError('MissingAuthenticationToken', 'Request is missing Authentication Token', { status: 403 });
    const region = env.globalServices.has(serviceName) ? 'us-east-1' : auth.region;

    const fault = env.faults.decide(key, auth.region);
    if (fault.kind === 'regionDown' || fault.kind === 'reset') {
      env.counters.fault(fault.kind);
      req.socket.destroy();
      return;
    }
    dropAnswer = fault.kind === 'dropAnswer';
    if (fault.kind === 'slow') {
      env.counters.fault('slow');
      await sleep(fault.ms);
      sleptMs += fault.ms;
    }
    if (env.latencyMs > 0) {
      await sleep(env.latencyMs);
      sleptMs += env.latencyMs;
    }
    if (fault.kind === 'error' || fault.kind === 'unavailable') {
      env.counters.fault(fault.kind);
      throw fault.kind === 'error'
        ? new ServiceError(json ? 'InternalServerError' : 'InternalError', 'An internal error has occurred', {
            status: 500,
          })
        : new ServiceError('ServiceUnavailable', 'The service is unavailable. Please try again shortly.', {
            status: 503,
          });
    }

    const account = accountForKey(env.state.fleet, env.state.issuedKeys, auth.accessKey);
    if (!env.globalServices.has(serviceName) && !env.state.fleet.region(account, region)) {
      throw new ServiceError(
        'AuthFailure',
        `AWS was not able to validate the provided access credentials: region ${region} is not enabled for account ${account}.`,
        {
          status: 401,
          jsonType: 'UnrecognizedClientException',
        },
      );
    }
    const category = json ? json.svc.category(op, {}) : query ? query.svc.category(op, query.params) : `s3.${op}`;
    if (!env.throttler.take(account, region, category)) {
      env.counters.throttled(key);
      throw throttleErrors[serviceName] ?? defaultThrottle;
    }
    const call: Call = {
      sim: env.state,
      account,
      region,
      accessKey: auth.accessKey,
      nowMs: env.state.clock.nowMs(),
      requestId,
    };
    if (s3Op) {
      const out = getObject(env.state, account, call.nowMs, req.url ?? '/');
      send(200, 'application/octet-stream', out.body, out.headers);
    } else if (json) {
      const handler = json.svc.handlers[op];
      if (!handler)
        throw new ServiceError('UnknownOperationException', `Unknown operation ${op}`, {
          jsonType: 'UnknownOperationException',
        });
      let input: Record<string, unknown> = {};
      if (body.trim() !== '') {
        try {
          input = JSON.parse(body) as Record<string, unknown>;
        } catch {
          throw new ServiceError('SerializationException', 'The request body is not valid JSON');
        }
      }
      const out = await handler(call, input);
      items = call.items ?? 0;
      send(200, json.svc.contentType, awsJsonStringify(out ?? {}));
    } else {
      const q = query!;
      const handler = q.svc.handlers[op];
      if (!handler) throw new ServiceError('InvalidAction', `The action ${op} is not valid for this web service.`);
      const inner = await handler(call, q.params);
      items = call.items ?? 0;
      const xml = q.svc.ec2
        ? `<?xml version="1.0" encoding="UTF-8"?>\n<${op}Response xmlns="${q.svc.xmlns}"><requestId>${requestId}</requestId>${inner}</${op}Response>`
        : `<${op}Response xmlns="${q.svc.xmlns}"><${op}Result>${inner}</${op}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${op}Response>`;
      send(200, 'text/xml;charset=UTF-8', xml);
    }
  } catch (e) {
    if (e instanceof ServiceError) sendError(e);
    else
      sendError(
        new ServiceError(json ? 'InternalServerError' : 'InternalError', e instanceof Error ? e.message : String(e), {
          status: 500,
        }),
      );
  }
}
