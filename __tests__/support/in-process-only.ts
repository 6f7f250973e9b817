/**
 * The unit tier's guard (a `setupFilesAfterEnv` of the `unit` project only): unit tests run
 * in-process, so every way `child_process` starts a program throws instead. A test that needs
 * terraform, npm, git, a shell or a compiled script belongs in `__tests__/integration/`, where
 * the tier's cost is expected.
 */
import { inProcessOnly } from "./in-process-guard";

jest.mock("child_process", () => inProcessOnly(jest.requireActual("child_process")));
jest.mock("node:child_process", () => inProcessOnly(jest.requireActual("child_process")));

