import * as os from "os";
import { createTempRoot, snapshotBase, type TempBase } from "./temp-root";

/** Makes the run's temp folder; what the caller's temp folder held is kept for globalTeardown's check. */
export default function globalSetup(): void {
  (globalThis as { tempBase?: TempBase }).tempBase = snapshotBase(os.tmpdir());
  createTempRoot();
}
