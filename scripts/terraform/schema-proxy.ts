import * as fs from "fs";
import * as http2 from "http2";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/**
 * A schema-trimming gRPC proxy between Terraform and the shared AWS provider process of one stack
 * (see shared-provider.ts).
 *
 * Terraform asks the provider for its whole schema once in every command: ~1,500 resource types,
 * ~600 data sources, ~10 MB of protobuf that Terraform decodes into its own schema types (about
 * 1.2 CPU-seconds in `plan` and again in `show -json`, measured on this project's stacks), while a
 * stack uses about a dozen of them. The proxy forwards every call of the plugin protocol byte for
 * byte (HTTP/2 streams on unix sockets, the way go-plugin speaks gRPC to a reattached provider),
 * except the answer to `tfplugin5.Provider/GetSchema`: from that it drops the resource,
 * data-source and ephemeral-resource schemas whose type names the stack does not mention. Every
 * other field (the provider's own schema, provider_meta, functions, server capabilities,
 * diagnostics) and every kept schema passes unchanged, so Terraform plans with the provider's own
 * schema of every type it meets. A type the proxy dropped and Terraform still needs (in the state,
 * not in the configuration) makes Terraform fail loudly ("no schema available for … while reading state"),
 * never plan differently; the planner then plans again without the proxy when Terraform's error
 * names a type the proxy withheld ({@link namesWithheldType}).
 */

/** The gRPC method whose answer is trimmed (plugin protocol 5; protocol 6's is `tfplugin6.Provider/GetProviderSchema`). */
const SCHEMA_METHODS = new Set(["/tfplugin5.Provider/GetSchema", "/tfplugin6.Provider/GetProviderSchema"]);

/** GetProviderSchema.Response fields that are maps from a type name to its schema (both protocols). */
const TYPE_MAP_FIELDS: Record<number, string> = { 2: "resource", 3: "data source", 8: "ephemeral resource" };

function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let factor = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++];
    value += (b & 0x7f) * factor;
    if ((b & 0x80) === 0) return [value, pos];
    factor *= 128;
    if (factor > 2 ** 63) throw new Error("varint too long");
  }
}

/** One field of a protobuf message: its number, wire type, and where it starts, its payload starts, and it ends. */
interface Field {
  readonly number: number;
  readonly wire: number;
  readonly start: number;
  readonly payload: number;
  readonly end: number;
}

function* fields(buf: Buffer): Generator<Field> {
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    const wire = tag % 8;
    const number = Math.floor(tag / 8);
    let payload = afterTag;
    let end: number;
    if (wire === 0) end = readVarint(buf, afterTag)[1];
    else if (wire === 1) end = afterTag + 8;
    else if (wire === 5) end = afterTag + 4;
    else if (wire === 2) {
      const [length, afterLength] = readVarint(buf, afterTag);
      payload = afterLength;
      end = afterLength + length;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (end > buf.length) throw new Error("truncated protobuf field");
    yield { number, wire, start, payload, end };
    pos = end;
  }
}

/** The key (field 1, a string) of one map entry. */
function entryKey(entry: Buffer): string | undefined {
  for (const f of fields(entry)) if (f.number === 1 && f.wire === 2) return entry.toString("utf8", f.payload, f.end);
  return undefined;
}

/**
 * A GetProviderSchema.Response (protobuf bytes) without the resource, data-source and
 * ephemeral-resource schemas whose names `keep` refuses; every other byte unchanged.
 */
export function trimSchemaResponse(message: Buffer, keep: (name: string) => boolean): { message: Buffer; kept: number; dropped: number; withheld: string[] } {
  const parts: Buffer[] = [];
  const withheld: string[] = [];
  let kept = 0;
  let dropped = 0;
  for (const f of fields(message)) {
    if (f.wire === 2 && TYPE_MAP_FIELDS[f.number]) {
      const name = entryKey(message.subarray(f.payload, f.end));
      if (name !== undefined && !keep(name)) {
        dropped++;
        withheld.push(name);
        continue;
      }
      kept++;
    }
    parts.push(message.subarray(f.start, f.end));
  }
  return { message: Buffer.concat(parts), kept, dropped, withheld };
}

/** The names of the types of each map of a GetProviderSchema.Response, by kind (for tests and diagnostics). */
export function schemaTypeNames(message: Buffer): Record<string, string[]> {
  const names: Record<string, string[]> = {};
  for (const f of fields(message)) {
    const kind = f.wire === 2 ? TYPE_MAP_FIELDS[f.number] : undefined;
    if (!kind) continue;
    const name = entryKey(message.subarray(f.payload, f.end));
    if (name !== undefined) (names[kind] ??= []).push(name);
  }
  return names;
}

/**
 * Every AWS type name (`aws_…`) mentioned anywhere in `texts` (the stack's cdk.tf.json: its
 * resources, data sources, ephemeral resources, import/moved/removed blocks and references).
 */
export function typesMentioned(...texts: string[]): Set<string> {
  const found = new Set<string>();
  for (const text of texts) for (const m of text.matchAll(/\baws_[a-z0-9_]+/g)) found.add(m[0]);
  return found;
}

/**
 * Whether Terraform's error output names a type the proxy withheld: the provider has it, the
 * configuration does not name it, and Terraform needed it after all (a type in the state, or in a
 * saved plan's changes). Read from the type names, not from Terraform's wording; a configuration
 * error, a misspelt type included, never names a withheld type (every type the configuration
 * names is kept), so it is not run twice.
 */
export function namesWithheldType(stderr: string, withheld: ReadonlySet<string>): boolean {
  return [...typesMentioned(stderr)].some((t) => withheld.has(t));
}

/** gRPC length-prefixed messages: 1 byte compressed flag, 4 bytes big-endian length, the message. */
function splitGrpcFrames(body: Buffer): { compressed: boolean; message: Buffer }[] | undefined {
  const out: { compressed: boolean; message: Buffer }[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (pos + 5 > body.length) return undefined;
    const length = body.readUInt32BE(pos + 1);
    if (pos + 5 + length > body.length) return undefined;
    out.push({ compressed: body[pos] !== 0, message: body.subarray(pos + 5, pos + 5 + length) });
    pos += 5 + length;
  }
  return out;
}

function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The headers of one side, without HTTP/2 pseudo-headers other than those listed. */
function forwardable(headers: http2.IncomingHttpHeaders, pseudo: readonly string[]): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (k.startsWith(":") && !pseudo.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

export interface SchemaProxy {
  /** The unix socket Terraform connects to instead of the provider's. */
  readonly socket: string;
  /** The type names the provider has and Terraform was not shown (filled as schemas are answered). */
  readonly withheld: ReadonlySet<string>;
  close(): Promise<void>;
}

const WINDOW = 32 * 1024 * 1024;

/**
 * Starts a proxy on a new unix socket that forwards every gRPC call to the provider listening on
 * `upstream` (a unix socket) and trims its schema answers to the type names `keep` accepts.
 */
export async function startSchemaProxy(upstream: string, keep: (name: string) => boolean): Promise<SchemaProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "schema-proxy-"));
  const socket = path.join(dir, "proxy.sock");
  const settings: http2.Settings = { initialWindowSize: WINDOW, maxFrameSize: 1 << 20 };
  const session = http2.connect("http://localhost", { createConnection: () => net.connect(upstream), settings });
  session.on("error", () => undefined); // each call reports its own failure to Terraform
  session.on("connect", () => session.setLocalWindowSize(WINDOW));
  const server = http2.createServer({ settings });
  const withheld = new Set<string>();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => undefined);
    s.on("connect", () => s.setLocalWindowSize(WINDOW));
  });
  server.on("stream", (stream, headers) => {
    const method = String(headers[":path"] ?? "");
    let call: http2.ClientHttp2Stream;
    try {
      call = session.request(forwardable(headers, [":method", ":path"]), { endStream: false });
    } catch (e) {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "14", "grpc-message": encodeURIComponent(`schema proxy: ${(e as Error).message}`) }, { endStream: true });
      return;
    }
    let trailers: http2.OutgoingHttpHeaders = {};
    stream.pipe(call);
    stream.on("close", () => {
      if (!call.closed) call.close(http2.constants.NGHTTP2_CANCEL);
    });
    call.on("close", () => {
      if (!stream.closed && !stream.writableEnded) stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    call.on("error", () => undefined);
    stream.on("error", () => undefined);
    call.on("trailers", (t) => {
      trailers = forwardable(t, []);
    });
    call.on("response", (h) => {
      const response = forwardable(h, [":status"]);
      if (h["grpc-status"] !== undefined && call.readableEnded) {
        stream.respond(response, { endStream: true });
        return;
      }
      stream.respond(response, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers(trailers));
      if (!SCHEMA_METHODS.has(method)) {
        call.pipe(stream);
        return;
      }
      const chunks: Buffer[] = [];
      call.on("data", (c: Buffer) => chunks.push(c));
      call.on("end", () => {
        const body = Buffer.concat(chunks);
        const frames = splitGrpcFrames(body);
        // Anything the proxy does not understand goes to Terraform as the provider sent it.
        if (!frames || frames.length !== 1 || frames[0].compressed) {
          stream.end(body);
          return;
        }
        try {
          const trimmed = trimSchemaResponse(frames[0].message, keep);
          trimmed.withheld.forEach((n) => withheld.add(n));
          stream.end(grpcFrame(trimmed.message));
        } catch {
          stream.end(body);
        }
      });
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socket, () => resolve());
    });
  } catch (e) {
    session.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    socket,
    withheld,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Terraform has exited by now; its connection goes with the proxy.
        for (const s of sessions) s.destroy();
      });
      session.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
