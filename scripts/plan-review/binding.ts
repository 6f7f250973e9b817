/**
 * What a saved plan was planned from, written beside it as `<stack>.binding.json`: the commit,
 * the digest of the stack's synthesized Terraform and the lineage and serial of the state the plan
 * started from. `npm run deploy -- --plans DIR` applies a saved plan only while all of them still
 * hold (saved-plans.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { inflateRawSync } from "zlib";

/** The binding of one saved plan. */
export interface PlanBinding {
  readonly stack: string;
  /** The commit planned: GITHUB_SHA, else `git rev-parse HEAD` of the project, else null. */
  readonly commit: string | null;
  /** sha256 (hex) of the stack's synthesized cdk.tf.json. */
  readonly digest: string;
  /** The lineage of the state the plan started from; null when there was no state yet. */
  readonly lineage: string | null;
  /** The serial of that state; null when there was no state yet. */
  readonly serial: number | null;
}

/** The state a plan started from, or a state now: null lineage and serial when there is none. */
export type StateVersion = Pick<PlanBinding, "lineage" | "serial">;

/** The suffix of a binding file. */
export const BINDING_SUFFIX = ".binding.json";

/** Lineage and serial of a state file's JSON text (`terraform state pull`); an empty text or a state never written is none. */
export function stateVersion(text: string): StateVersion {
  if (text.trim() === "") return { lineage: null, serial: null };
  const s = JSON.parse(text);
  if (typeof s?.lineage !== "string" || s.lineage === "" || !Number.isInteger(s.serial)) return { lineage: null, serial: null };
  return { lineage: s.lineage, serial: s.serial };
}

/** The content of one file of a zip archive (stored or deflated), or undefined when it holds none of that name. */
export function zipEntry(zip: Buffer, name: string): Buffer | undefined {
  const EOCD = 0x06054b50;
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("not a zip archive (no end of central directory)");
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("damaged zip archive (central directory)");
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString("utf8", at + 46, at + 46 + nameLength) === name) {
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(data, data + size);
      if (method === 0) return raw;
      if (method === 8) return inflateRawSync(raw);
      throw new Error(`zip entry ${name} uses compression method ${method} (expected 0 or 8)`);
    }
    at += 46 + skip;
  }
  return undefined;
}

/** Lineage and serial of the state a saved plan (`terraform plan -out`) started from: its `tfstate` entry. */
export function plannedStateVersion(planFile: string): StateVersion {
  const state = zipEntry(fs.readFileSync(planFile), "tfstate");
  if (state === undefined) throw new Error(`${planFile} holds no tfstate: not a saved Terraform plan`);
  return stateVersion(state.toString("utf8"));
}

/** Writes `<stack>.binding.json` into `dir`. */
export function writeBinding(dir: string, binding: PlanBinding): void {
  fs.writeFileSync(path.join(dir, `${binding.stack}${BINDING_SUFFIX}`), `${JSON.stringify(binding, null, 2)}\n`);
}

const SHA = /^[0-9a-f]{40,64}$/;

/** Why `v` is not the binding of `stack`, or undefined. */
export function bindingProblem(v: any, stack: string): string | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "must be a JSON object";
  if (v.stack !== stack) return `"stack" is ${JSON.stringify(v.stack)}, not ${JSON.stringify(stack)}`;
  if (v.commit !== null && (typeof v.commit !== "string" || !SHA.test(v.commit))) return `"commit" ${JSON.stringify(v.commit)} must be a commit SHA (hex) or null`;
  if (typeof v.digest !== "string" || !/^[0-9a-f]{64}$/.test(v.digest)) return `"digest" ${JSON.stringify(v.digest)} must be a sha256 in hex`;
  const none = v.lineage === null && v.serial === null;
  if (!none && (typeof v.lineage !== "string" || v.lineage === "" || !Number.isInteger(v.serial) || v.serial < 0)) {
    return `"lineage" ${JSON.stringify(v.lineage)} and "serial" ${JSON.stringify(v.serial)} must both be null (no state) or a lineage and a whole number`;
  }
  return undefined;
}

/** How a state version reads in a line: `serial 5` or `no state`. */
export function describeVersion(v: StateVersion): string {
  return v.serial === null ? "no state" : `serial ${v.serial}`;
}

/** Why the saved plan of `binding` may not be applied to the state `now`, or undefined. */
export function stateMismatch(binding: StateVersion, now: StateVersion): string | undefined {
  if (binding.lineage === now.lineage && binding.serial === now.serial) return undefined;
  const what =
    binding.lineage !== null && now.lineage !== null && binding.lineage !== now.lineage
      ? `lineage ${binding.lineage} when planned, ${now.lineage} now: another state`
      : binding.serial !== null && now.serial !== null
        ? `serial ${binding.serial} when planned, ${now.serial} now`
        : `${describeVersion(binding)} when planned, ${describeVersion(now)} now`;
  return `the reviewed plan no longer matches its state (${what}): plan again`;
}
