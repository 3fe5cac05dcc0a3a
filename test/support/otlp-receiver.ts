import { createServer, type IncomingMessage, type Server } from "node:http";
import { listenOnLoopback } from "./loopback.js";

/** One span as a collector received it, the same whichever OTLP/HTTP encoding carried it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`: ode appends `/v1/traces`. */
  endpoint: string;
  spans: ReceivedSpan[];
  requests: { path: string; contentType: string; body: Buffer }[];
  close(): Promise<void>;
}

// --- OTLP protobuf, decoded from the wire format with the field numbers of opentelemetry/proto/trace/v1 ---

type Wire = { no: number; varint?: bigint; bytes?: Uint8Array };

function readFields(buf: Uint8Array): Wire[] {
  const out: Wire[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, varint: varint() });
    else if (wire === 1) out.push({ no, bytes: buf.subarray(pos, (pos += 8)) });
    else if (wire === 5) out.push({ no, bytes: buf.subarray(pos, (pos += 4)) });
    else if (wire === 2) {
      const length = Number(varint());
      out.push({ no, bytes: buf.subarray(pos, (pos += length)) });
    } else throw new Error(`unexpected protobuf wire type ${wire}`);
  }
  return out;
}

const utf8 = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString("utf8");
const hex = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString("hex");
const all = (fields: Wire[], no: number) => fields.filter((f) => f.no === no);
const one = (fields: Wire[], no: number) => fields.find((f) => f.no === no);

function protoAnyValue(buf: Uint8Array): unknown {
  const [field] = readFields(buf);
  if (!field) return undefined;
  switch (field.no) {
    case 1:
      return utf8(field.bytes);
    case 2:
      return field.varint === 1n;
    case 3:
      return Number(BigInt.asIntN(64, field.varint!));
    case 4:
      return Buffer.from(field.bytes!).readDoubleLE(0);
    case 5:
      return all(readFields(field.bytes!), 1).map((f) => protoAnyValue(f.bytes!));
    default:
      return `(unsupported AnyValue field ${field.no})`;
  }
}

function protoAttributes(fields: Wire[], no: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of all(fields, no)) {
    const f = readFields(kv.bytes!);
    out[utf8(one(f, 1)?.bytes)] = protoAnyValue(one(f, 2)?.bytes ?? new Uint8Array());
  }
  return out;
}

function decodeProtobuf(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of all(readFields(body), 1)) {
    const rsFields = readFields(rs.bytes!);
    const resource = protoAttributes(readFields(one(rsFields, 1)?.bytes ?? new Uint8Array()), 1);
    for (const ss of all(rsFields, 2)) {
      for (const s of all(readFields(ss.bytes!), 2)) {
        const f = readFields(s.bytes!);
        const status = readFields(one(f, 15)?.bytes ?? new Uint8Array());
        spans.push({
          traceId: hex(one(f, 1)?.bytes),
          spanId: hex(one(f, 2)?.bytes),
          parentSpanId: hex(one(f, 4)?.bytes),
          name: utf8(one(f, 5)?.bytes),
          attributes: protoAttributes(f, 9),
          events: all(f, 11).map((e) => {
            const ef = readFields(e.bytes!);
            return { name: utf8(one(ef, 2)?.bytes), attributes: protoAttributes(ef, 3) };
          }),
          status: { code: Number(one(status, 3)?.varint ?? 0n), message: utf8(one(status, 2)?.bytes) },
          resource,
        });
      }
    }
  }
  return spans;
}

// --- OTLP JSON ---

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}

function jsonAnyValue(value: Record<string, unknown>): unknown {
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return Number(value.doubleValue);
  if ("arrayValue" in value) return ((value.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(jsonAnyValue);
  return undefined;
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonAnyValue(kv.value)]));
}

function decodeJson(body: Buffer): ReceivedSpan[] {
  const doc = JSON.parse(body.toString("utf8"));
  const spans: ReceivedSpan[] = [];
  for (const rs of doc.resourceSpans ?? []) {
    const resource = jsonAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? "",
          name: s.name,
          attributes: jsonAttributes(s.attributes),
          events: (s.events ?? []).map((e: { name: string; attributes?: JsonKeyValue[] }) => ({ name: e.name, attributes: jsonAttributes(e.attributes) })),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
          resource,
        });
      }
    }
  }
  return spans;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An OTLP/HTTP trace collector on 127.0.0.1 that keeps every span it receives, in either encoding. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver["requests"] = [];
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const contentType = String(req.headers["content-type"] ?? "");
      requests.push({ path: req.url ?? "", contentType, body });
      try {
        spans.push(...(contentType.includes("json") ? decodeJson(body) : decodeProtobuf(body)));
        res.writeHead(200, { "content-type": contentType || "application/json" }).end(contentType.includes("json") ? "{}" : "");
      } catch (error) {
        res.writeHead(400).end(String(error));
      }
    });
  });
  const { baseURL, close } = await listenOnLoopback(server);
  return { endpoint: baseURL.replace(/\/v1$/, ""), spans, requests, close };
}
